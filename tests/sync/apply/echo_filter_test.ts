import {
  EchoFilter,
  echoStateOf,
} from "../../../src/sync/apply/echo_filter.ts";
import { assert, assertEquals } from "../../assert.ts";

const STAT = {
  kind: "file",
  size: 10,
  exec: false,
  mtimeMs: 1_000,
  inode: 7,
} as const;

Deno.test("EchoFilter.isEcho() matches what was remembered, and nothing else", () => {
  const now = 0;
  const f = new EchoFilter({ ttlMs: 1_000, now: () => now });
  f.remember("a.txt", STAT);
  assert(f.isEcho("a.txt", STAT));
  const { inode: _, ...noInode } = STAT;
  assert(f.isEcho("a.txt", noInode)); // inode unknown
  // Not consumed by a match: a write causes several events.
  assert(f.isEcho("a.txt", STAT));
  assert(!f.isEcho("b.txt", STAT));
  const changes = [
    { ...STAT, size: 11 },
    { ...STAT, mtimeMs: 1_001 },
    { ...STAT, inode: 8 },
    // A chmod changes neither size nor mtime: still not our echo.
    { ...STAT, exec: true },
    { ...STAT, kind: "symlink" as const },
    "absent" as const,
  ];
  for (const changed of changes) {
    f.remember("a.txt", STAT);
    assert(!f.isEcho("a.txt", changed));
    // Dropped at the mismatch: the path moved on since our write.
    assert(!f.isEcho("a.txt", STAT));
  }
});

Deno.test("EchoFilter compares hashes when both sides know them", () => {
  const f = new EchoFilter();
  f.remember("h", { ...STAT, hash: new Uint8Array([1, 2, 3]) });
  assert(f.isEcho("h", { ...STAT, hash: new Uint8Array([1, 2, 3]) }));
  assert(f.isEcho("h", STAT));
  assert(!f.isEcho("h", { ...STAT, hash: new Uint8Array([1, 2, 4]) }));
});

Deno.test("EchoFilter remembers deletions", () => {
  const f = new EchoFilter();
  f.remember("gone", "absent");
  assert(f.isEcho("gone", "absent"));
  assert(!f.isEcho("gone", STAT)); // re-created since: a user edit
  // Deleted again by the user: no longer our echo.
  assert(!f.isEcho("gone", "absent"));
});

Deno.test("EchoFilter entries expire after the TTL", () => {
  let now = 0;
  const f = new EchoFilter({ ttlMs: 1_000, now: () => now });
  f.remember("a", STAT);
  now = 500;
  f.remember("b", STAT);
  now = 999;
  assert(f.isEcho("a", STAT));
  now = 1_000;
  assert(!f.isEcho("a", STAT));
  assert(f.isEcho("b", STAT));
  assertEquals(f.size, 1);
  now = 1_500;
  assert(!f.isEcho("b", STAT));
  assertEquals(f.size, 0);
});

Deno.test("EchoFilter.remember() renews an entry, and forget() drops it", () => {
  let now = 0;
  const f = new EchoFilter({ ttlMs: 1_000, now: () => now });
  f.remember("a", STAT);
  f.remember("b", STAT);
  now = 900;
  f.remember("a", { ...STAT, size: 20 });
  now = 1_500;
  assert(f.isEcho("a", { ...STAT, size: 20 }));
  assert(!f.isEcho("b", STAT));
  f.forget("a");
  assert(!f.isEcho("a", { ...STAT, size: 20 }));
});

Deno.test("EchoFilter keeps at most maxEntries, dropping the oldest", () => {
  const f = new EchoFilter({ maxEntries: 3 });
  for (const p of ["a", "b", "c", "d"]) f.remember(p, STAT);
  assertEquals(f.size, 3);
  assert(!f.isEcho("a", STAT));
  assert(f.isEcho("d", STAT));
});

Deno.test("echoStateOf() takes kind, size, exec bit, mtime and inode from a stat", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-echo-" });
  try {
    await Deno.writeTextFile(`${dir}/f`, "12345");
    const info = await Deno.lstat(`${dir}/f`);
    const state = echoStateOf(info);
    assert(state !== "absent");
    assertEquals(state.size, 5);
    assertEquals(state.mtimeMs, info.mtime!.getTime());
    const f = new EchoFilter();
    f.remember("f", state);
    assert(f.isEcho("f", echoStateOf(await Deno.lstat(`${dir}/f`))));
    if (Deno.build.os !== "windows") {
      // chmod +x keeps size, mtime and inode: a user's change all the same.
      await Deno.chmod(`${dir}/f`, 0o755);
      const after = echoStateOf(await Deno.lstat(`${dir}/f`));
      assert(after !== "absent" && after.exec);
      assertEquals(after.mtimeMs, state.mtimeMs);
      assert(!f.isEcho("f", after));
      await Deno.chmod(`${dir}/f`, 0o644);
    }
    await Deno.writeTextFile(`${dir}/f`, "123456");
    assert(!f.isEcho("f", echoStateOf(await Deno.lstat(`${dir}/f`))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EchoFilter drops the oldest by last remember, not by first", () => {
  const f = new EchoFilter({ maxEntries: 3 });
  for (const p of ["a", "b", "c", "a", "d"]) f.remember(p, STAT);
  assertEquals(f.size, 3);
  assert(f.isEcho("a", STAT));
  assert(!f.isEcho("b", STAT));
  assert(f.isEcho("d", STAT));
});

Deno.test("EchoFilter stays bounded across many renewals and expiries", () => {
  let now = 0;
  const f = new EchoFilter({ ttlMs: 1_000, maxEntries: 500, now: () => now });
  for (let i = 0; i < 20_000; i++) {
    now = i;
    f.remember(`p${i % 700}`, STAT);
  }
  assertEquals(f.size, 500);
  assert(f.isEcho("p399", STAT)); // the last one remembered (19,999 % 700)
  now = 50_000;
  assert(!f.isEcho("p399", STAT));
  assertEquals(f.size, 0);
});
