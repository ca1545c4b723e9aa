/**
 * End-to-end sync between two real dsync processes on loopback.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { IndexStore } from "../../src/index/store.ts";
import { randomBytes, SyncPair, writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";

const MiB = 1024 * 1024;

/** A stopped node's replica id and the versions of its records, by path. */
function versions(
  folder: string,
): { replica: bigint; byPath: Map<string, string> } {
  const store = IndexStore.open(folder);
  try {
    const byPath = new Map<string, string>();
    for (const r of store.since(0, 1_000_000)) {
      byPath.set(
        r.path,
        `${r.deleted}:${
          r.version.map((e) => `${e.replica.toString(16)}=${e.counter}`).join(
            ",",
          )
        }`,
      );
    }
    return { replica: store.replicaId, byPath };
  } finally {
    store.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("sync: a full folder and an empty one end identical", async () => {
  await using pair = await SyncPair.create();
  await writeTree(pair.a.dir, {
    "hello.txt": "hello\n",
    "empty": "",
    "nested/deeper/still/file.md": "# deep\n",
    "caf\u00e9 nfc.txt": "NFC name",
    "re\u0301sume\u0301 nfd.txt": "NFD name",
    "run.sh": { data: "#!/bin/sh\necho hi\n", exec: true },
    "chunks.bin": randomBytes(700_000, 7),
  }, ["empty-dir", "nested/empty-too"]);
  pair.startBoth();
  const snap = await pair.identical();
  assertEquals(snap.get("run.sh")?.startsWith("file:true:"), true);
  assertEquals(snap.get("empty-dir"), "dir");
  assertEquals(snap.get("r\u00e9sum\u00e9 nfd.txt")?.startsWith("file:"), true);
});

Deno.test("sync: two folders with disjoint files end with the union", async () => {
  await using pair = await SyncPair.create();
  await writeTree(pair.a.dir, { "from-a.txt": "a", "shared/a.txt": "a" });
  await writeTree(pair.b.dir, { "from-b.txt": "b", "shared/b.txt": "b" });
  pair.startBoth();
  const snap = await pair.identical();
  for (
    const path of ["from-a.txt", "from-b.txt", "shared/a.txt", "shared/b.txt"]
  ) {
    assert(snap.has(path), `${path} missing`);
  }
});

Deno.test("sync: live changes propagate, without echo", async () => {
  await using pair = await SyncPair.create();
  const a = pair.a.dir;
  const b = pair.b.dir;
  await writeTree(a, { "keep.txt": "keep", "old-dir/x.txt": "x", "tool": "t" });
  pair.startBoth();
  await pair.connected();
  await pair.identical();

  await writeTree(a, { "new.txt": "new file" });
  await pair.identical({ check: (s) => s.has("new.txt") });

  await Deno.writeTextFile(`${a}/keep.txt`, "keep, modified");
  await pair.identical({
    check: (s) => s.get("keep.txt")?.includes(":14:") ?? false,
  });

  await Deno.remove(`${a}/new.txt`);
  await pair.identical({ check: (s) => !s.has("new.txt") });

  await writeTree(a, { "new-dir/one.txt": "1", "new-dir/sub/two.txt": "22" });
  await pair.identical({ check: (s) => s.has("new-dir/sub/two.txt") });

  await Deno.remove(`${a}/old-dir`, { recursive: true });
  await pair.identical({ check: (s) => !s.has("old-dir") });

  await Deno.rename(`${a}/keep.txt`, `${a}/renamed.txt`);
  await pair.identical({
    check: (s) => s.has("renamed.txt") && !s.has("keep.txt"),
  });

  await Deno.chmod(`${a}/tool`, 0o755);
  await pair.identical({
    check: (s) => s.get("tool")?.startsWith("file:true") ?? false,
  });

  // And the other way round.
  await writeTree(b, { "from-b/file.txt": "b side" });
  await pair.identical({ check: (s) => s.has("from-b/file.txt") });

  assertEquals(await pair.stop(pair.a), 0);
  assertEquals(await pair.stop(pair.b), 0);
  // No echo: every record carries the same version on both sides.
  const va = versions(a);
  const vb = versions(b);
  assert(va.byPath.size >= 10, `only ${va.byPath.size} records`);
  assertEquals([...vb.byPath].sort(), [...va.byPath].sort());
  // ...and the receiver never counted an edit of its own on A's paths.
  const bTag = `${vb.replica.toString(16)}=`;
  for (const [path, version] of vb.byPath) {
    if (path.startsWith("from-b")) continue;
    assert(!version.includes(bTag), `${path} was bumped by b: ${version}`);
  }
});

Deno.test("sync: a file modified while it is being sent ends correct", async () => {
  await using pair = await SyncPair.create();
  await writeTree(pair.a.dir, { "moving.bin": randomBytes(64 * MiB, 11) });
  pair.startBoth();
  // Rewrite the file as soon as the receiver starts assembling it.
  await waitFor(
    async () => {
      for await (const e of Deno.readDir(pair.b.dir)) {
        if (e.name.endsWith(".part")) return true;
      }
      return false;
    },
    "a .part file on the receiver",
    60_000,
    5,
  );
  await Deno.writeFile(`${pair.a.dir}/moving.bin`, randomBytes(48 * MiB, 12));
  const snap = await pair.identical({ timeoutMs: 60_000 });
  assertEquals(
    snap.get("moving.bin")?.startsWith(`file:false:${48 * MiB}:`),
    true,
  );
});

Deno.test("sync: restarting the receiver mid-transfer completes the file", async () => {
  await using pair = await SyncPair.create();
  await writeTree(pair.a.dir, { "large.bin": randomBytes(200 * MiB, 5) });
  pair.startBoth();
  let partPath = "";
  await waitFor(
    async () => {
      for await (const e of Deno.readDir(pair.b.dir)) {
        if (!e.name.endsWith(".part")) continue;
        partPath = `${pair.b.dir}/${e.name}`;
        try {
          return (await Deno.stat(partPath)).size > 30 * MiB;
        } catch {
          return false;
        }
      }
      return false;
    },
    "30 MB of the .part on the receiver",
    60_000,
    5,
  );
  await pair.stop(pair.b, "SIGKILL");
  assert(!(await exists(`${pair.b.dir}/large.bin`)), "half a file in place");
  pair.start(pair.b);
  await pair.identical({ timeoutMs: 90_000 });
  assert(!(await exists(partPath)), "leftover .part");
});

Deno.test("sync: a lost index on one side deletes nothing anywhere", async () => {
  await using pair = await SyncPair.create();
  const files = {
    "one.txt": "1",
    "two/three.txt": "3",
    "four.bin": randomBytes(300_000, 4),
  };
  await writeTree(pair.a.dir, files);
  pair.startBoth();
  await pair.identical({ check: (s) => s.has("four.bin") });
  await pair.stop(pair.a);
  await pair.stop(pair.b);
  await Deno.remove(`${pair.b.dir}/.dsync`, { recursive: true });
  await writeTree(pair.b.dir, { "added-while-stopped.txt": "new" });
  pair.startBoth();
  await pair.connected();
  const snap = await pair.identical({
    check: (s) => s.has("added-while-stopped.txt"),
  });
  for (const path of Object.keys(files)) {
    assert(snap.has(path), `${path} was deleted`);
  }
});
