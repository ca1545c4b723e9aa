/**
 * End-to-end versions: what a peer's change replaced or deleted is kept
 * under `.dsync/versions/`, and `dsync restore` brings it back (with the
 * instance running or not), from where it syncs to the peers again.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { runDsync } from "./_dsync.ts";
import { holdsText, writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Contents of the versions of `path` in `dir`, newest first by name. */
async function versionsOf(dir: string, path: string): Promise<string[]> {
  const root = `${dir}/.dsync/versions`;
  const slash = path.lastIndexOf("/");
  const parent = slash < 0 ? root : `${root}/${path.slice(0, slash)}`;
  const base = path.slice(slash + 1);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(parent)) {
      if (e.isFile && e.name.startsWith(`${base}~`)) names.push(e.name);
    }
  } catch {
    return [];
  }
  names.sort().reverse();
  return await Promise.all(
    names.map((n) => Deno.readTextFile(`${parent}/${n}`)),
  );
}

async function dsync(mesh: Mesh, ...args: string[]) {
  return await runDsync(args, { env: mesh.env, timeoutMs: 30_000 });
}

Deno.test("versions: a peer's delete and overwrite are kept; restore brings them back to every peer", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, {
    "x.txt": "x as it was\n",
    "docs/y.txt": "y as it was\n",
    "gone/deep/z.txt": "z in a folder\n",
  });
  mesh.startAll();
  await mesh.identical({
    check: (s) => s.has("docs/y.txt") && s.has("gone/deep/z.txt"),
  });

  await Deno.remove(`${a.dir}/x.txt`);
  await Deno.writeTextFile(`${a.dir}/docs/y.txt`, "y overwritten\n");
  await Deno.remove(`${a.dir}/gone`, { recursive: true });
  await mesh.identical({
    check: (s) =>
      !s.has("x.txt") && !s.has("gone/deep/z.txt") &&
      s.get("docs/y.txt") !== undefined,
  });
  await waitFor(
    () => holdsText(`${b.dir}/docs/y.txt`, "y overwritten\n"),
    "the overwrite on beta",
  );
  assertEquals(await versionsOf(b.dir, "x.txt"), ["x as it was\n"]);
  assertEquals(await versionsOf(b.dir, "docs/y.txt"), ["y as it was\n"]);
  assertEquals(await versionsOf(b.dir, "gone/deep/z.txt"), ["z in a folder\n"]);
  // Local deletes and edits are the user's own: alpha keeps no versions.
  assert(!(await exists(`${a.dir}/.dsync/versions`)), "alpha kept versions");
  assert(
    b.proc!.output.includes(
      "alpha deleted x.txt; kept the old copy in versions",
    ),
    b.proc!.output,
  );

  const listed = await dsync(mesh, "versions", "-d", b.dir);
  assertEquals(listed.code, 0, listed.stderr);
  for (const path of ["x.txt", "docs/y.txt", "gone/deep/z.txt"]) {
    assertMatch(
      listed.stdout,
      new RegExp(`^${path.replace(".", "\\.")} `, "m"),
    );
  }

  // Restore through the running instance: back on beta, and on alpha.
  const restored = await dsync(mesh, "restore", "-d", b.dir, "x.txt");
  assertEquals(restored.code, 0, restored.stderr);
  assertMatch(restored.stdout, /^Restored x\.txt from \d{8}-\d{6}$/m);
  await mesh.identical({
    check: (s) => s.has("x.txt") && s.has("gone/deep/z.txt") === false,
  });
  assertEquals(await Deno.readTextFile(`${a.dir}/x.txt`), "x as it was\n");

  // Restoring over an existing file keeps that file as a version.
  const over = await dsync(mesh, "restore", "-d", b.dir, "docs/y.txt");
  assertEquals(over.code, 0, over.stderr);
  assertMatch(over.stdout, /kept in versions as docs\/y\.txt~\d{8}-\d{6}/);
  await waitFor(
    () => holdsText(`${a.dir}/docs/y.txt`, "y as it was\n"),
    "the restored y on alpha",
  );
  assertEquals(await versionsOf(b.dir, "docs/y.txt"), ["y overwritten\n"]);

  // Restore while beta is stopped: done in the folder, synced at start.
  assertEquals(await mesh.stop(b), 0);
  const offline = await dsync(mesh, "restore", "-d", b.dir, "gone/deep/z.txt");
  assertEquals(offline.code, 0, offline.stderr);
  assertEquals(
    await Deno.readTextFile(`${b.dir}/gone/deep/z.txt`),
    "z in a folder\n",
  );
  mesh.start(b);
  await mesh.identical({ check: (s) => s.has("gone/deep/z.txt") });

  // Mistakes are one line and exit 2.
  const none = await dsync(mesh, "restore", "-d", b.dir, "never.txt");
  assertEquals(none.code, 2);
  assertEquals(none.stderr, 'dsync: No version of "never.txt" is kept\n');
  const badTime = await dsync(
    mesh,
    "restore",
    "-d",
    b.dir,
    "x.txt",
    "--at",
    "soon",
  );
  assertEquals(badTime.code, 2);
  assertEquals(badTime.stderr.split("\n").length, 2, badTime.stderr);
});

Deno.test("versions: the losing side of a conflict stays a conflict copy, not a version", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "base\n" });
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("doc.txt") });
  const codes = await mesh.stopAll();
  assertEquals(codes, { alpha: 0, beta: 0 });
  await Deno.writeTextFile(`${a.dir}/doc.txt`, "alpha's, newer\n");
  await Deno.utime(`${a.dir}/doc.txt`, 1_700_000_100, 1_700_000_100);
  await Deno.writeTextFile(`${b.dir}/doc.txt`, "beta's, older\n");
  await Deno.utime(`${b.dir}/doc.txt`, 1_700_000_000, 1_700_000_000);
  mesh.startAll();
  const snap = await mesh.identical({
    check: (s) => [...s.keys()].some((p) => p.includes("sync-conflict")),
  });
  const copy = [...snap.keys()].find((p) => p.includes("sync-conflict"))!;
  assertEquals(await Deno.readTextFile(`${b.dir}/${copy}`), "beta's, older\n");
  assertEquals(await versionsOf(b.dir, "doc.txt"), []);
});

Deno.test("versions: retention prunes versions older than versions_keep_days and beyond versions_max_mb", async () => {
  await using mesh = await Mesh.create(["alpha"]);
  const [a] = mesh.nodes as [MeshNode];
  const root = `${a.dir}/.dsync/versions`;
  await Deno.mkdir(`${root}/old`, { recursive: true });
  const start = Date.now();
  const stamp = (daysAgo: number) => {
    const d = new Date(start - daysAgo * 86_400_000);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${
      p(d.getUTCDate())
    }-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  };
  const MiB = new Uint8Array(1024 * 1024);
  await Deno.writeTextFile(`${root}/old/a.txt~${stamp(12)}`, "too old");
  await Deno.writeFile(`${root}/big.bin~${stamp(5)}`, MiB);
  await Deno.writeFile(`${root}/big.bin~${stamp(4)}`, MiB);
  await Deno.writeFile(`${root}/big.bin~${stamp(3)}`, MiB);
  await Deno.writeTextFile(`${root}/keep.txt~${stamp(1)}`, "recent");
  const config = `${mesh.root}/dsync.toml`;
  await Deno.writeTextFile(
    config,
    "versions_keep_days = 10\nversions_max_mb = 3\n",
  );
  mesh.start(a, [], ["--config", config]);
  await waitFor(
    async () => !(await exists(`${root}/old`)),
    "the pruning of the old version",
    30_000,
  );
  await waitFor(
    async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(root)) names.push(e.name);
      return names.length === 3;
    },
    "the pruning of the oldest big version",
    30_000,
  );
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) names.push(e.name);
  assertEquals(
    names.sort(),
    [
      `big.bin~${stamp(3)}`,
      `big.bin~${stamp(4)}`,
      `keep.txt~${stamp(1)}`,
    ].sort(),
  );
  await a.proc!.waitForOutput(/Deleted 2 old versions/, 10_000);
});
