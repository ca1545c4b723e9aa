import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { DatabaseSync } from "node:sqlite";
import type { FileRecord } from "../../src/index/file_record.ts";
import { IndexCorruptError, IndexStore } from "../../src/index/store.ts";
import { fileHashOfChunks } from "../../src/index/hash.ts";
import { setSchemaVersion } from "./_schema.ts";
import {
  bump,
  EMPTY_VERSION,
  versionOf,
} from "../../src/index/version_vector.ts";

async function withFolder(
  fn: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function hashOf(seed: number): Uint8Array {
  return new Uint8Array(32).map((_, i) => (seed * 31 + i) & 0xff);
}

function fileRecord(
  path: string,
  overrides: Partial<FileRecord> = {},
): FileRecord {
  return {
    path,
    kind: "file",
    size: 70_000,
    mtimeNs: 1_700_000_000_123_456_789n,
    exec: false,
    hash: hashOf(1),
    chunks: [
      { offset: 0, length: 65_536, hash: hashOf(2) },
      { offset: 65_536, length: 4_464, hash: hashOf(3) },
    ],
    version: versionOf([[7n, 3], [0xffff_ffff_ffff_fffen, 1]]),
    deleted: false,
    sequence: 0,
    ...overrides,
  };
}

Deno.test("IndexStore.open() creates .dsync/index.db in WAL mode with a stable replica id", async () => {
  await withFolder((dir) => {
    const first = IndexStore.open(dir);
    const id = first.replicaId;
    assert(id > 0n && id < 1n << 64n);
    first.close();
    assert(Deno.statSync(`${dir}/.dsync/index.db`).isFile);
    const again = IndexStore.open(dir);
    assertStrictEquals(again.replicaId, id);
    again.close();
    const raw = new DatabaseSync(`${dir}/.dsync/index.db`);
    try {
      const row = raw.prepare("PRAGMA journal_mode").get() as {
        journal_mode: string;
      };
      assertStrictEquals(row.journal_mode, "wal");
    } finally {
      raw.close();
    }
  });
});

Deno.test("IndexStore.open() gives different folders different replica ids", async () => {
  await withFolder(async (a) => {
    await withFolder((b) => {
      const sa = IndexStore.open(a);
      const sb = IndexStore.open(b);
      try {
        assertNotStrictEquals(sa.replicaId, sb.replicaId);
      } finally {
        sa.close();
        sb.close();
      }
    });
  });
});

Deno.test("IndexStore.put() and get() round-trip every field", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      const records: FileRecord[] = [
        fileRecord("dir/caf\u00e9.bin", {
          exec: true,
          inode: 2 ** 40 + 3,
          dev: 65024,
        }),
        fileRecord("dir", {
          kind: "dir",
          size: 0,
          hash: new Uint8Array(0),
          chunks: [],
          mtimeNs: -5_000_001n,
        }),
        fileRecord("link", {
          kind: "symlink",
          size: 6,
          hash: hashOf(9),
          chunks: [],
          symlinkTarget: "../out",
        }),
        fileRecord("gone.txt", {
          deleted: true,
          size: 0,
          hash: new Uint8Array(0),
          chunks: [],
          version: EMPTY_VERSION,
        }),
        fileRecord("empty", {
          size: 0,
          chunks: [],
          mtimeNs: 9_223_372_036_854_775_807n,
        }),
      ];
      for (const record of records) {
        const stored = store.put(record);
        assert(stored.sequence > 0);
        const back = store.get(record.path);
        assertEquals(back, { ...record, sequence: stored.sequence });
      }
      assertStrictEquals(store.get("missing"), undefined);
      assertStrictEquals(store.count(), records.length);
      const stat = store.getStat("dir/caf\u00e9.bin");
      assertEquals(stat, {
        path: "dir/caf\u00e9.bin",
        kind: "file",
        size: 70_000,
        mtimeMs: 1_700_000_000_123,
        exec: true,
        deleted: false,
        inode: 2 ** 40 + 3,
        dev: 65024,
      });
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.put() assigns increasing sequences that survive reopen and purge", async () => {
  await withFolder((dir) => {
    let now = 1_000_000;
    let store = IndexStore.open(dir, { now: () => now });
    const a1 = store.put(fileRecord("a"));
    const last = store.putMany([
      fileRecord("b"),
      fileRecord("c", { deleted: true }),
    ]);
    const a2 = store.put(
      fileRecord("a", { version: bump(a1.version, store.replicaId) }),
    );
    const sequences = [
      a1.sequence,
      store.get("b")!.sequence,
      last,
      a2.sequence,
    ];
    assertEquals(sequences, [1, 2, 3, 4]);
    assertStrictEquals(store.maxSequence, 4);
    assertStrictEquals(store.get("a")!.sequence, 4);
    // The tombstone holding the highest sequence is purged: numbers must not be reused.
    const d = store.put(fileRecord("d", { deleted: true }));
    now += 10;
    assertStrictEquals(store.purgeTombstones(now), 2);
    store.close();
    store = IndexStore.open(dir, { now: () => now });
    try {
      assertStrictEquals(store.maxSequence, d.sequence);
      assertStrictEquals(store.put(fileRecord("e")).sequence, d.sequence + 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.since() pages through changes in sequence order", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      store.putMany(["a", "b", "c", "d"].map((p) => fileRecord(p)));
      store.put(fileRecord("b", { exec: true }));
      const all = store.since(0, 100).map((r) => [r.path, r.sequence]);
      assertEquals(all, [["a", 1], ["c", 3], ["d", 4], ["b", 5]]);
      assertEquals(store.since(1, 2).map((r) => r.path), ["c", "d"]);
      assertEquals(store.since(5, 10), []);
      assertEquals(store.since(0, 1)[0]!.chunks.length, 2);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.changesSince() gives what since() gives, without chunks", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      store.putMany(["a", "b", "c"].map((p) => fileRecord(p)));
      store.put({ ...fileRecord("b"), deleted: true, size: 0, chunks: [] });
      const full = store.since(0, 100);
      const light = store.changesSince(0, 100);
      assertEquals(
        light,
        full.map((r) => ({
          path: r.path,
          kind: r.kind,
          size: r.size,
          deleted: r.deleted,
          version: r.version,
          sequence: r.sequence,
        })),
      );
      assertEquals(light.map((r) => [r.path, r.deleted]), [
        ["a", false],
        ["c", false],
        ["b", true],
      ]);
      assertEquals(store.changesSince(1, 1).map((r) => r.path), ["c"]);
      assertEquals(store.changesSince(4, 10), []);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.purgeTombstones() drops only tombstones recorded before the cut-off", async () => {
  await withFolder((dir) => {
    let now = 5_000;
    const store = IndexStore.open(dir, { now: () => now });
    try {
      store.put(fileRecord("old", { deleted: true }));
      now = 6_000;
      store.put(fileRecord("new", { deleted: true }));
      // Re-putting a tombstone keeps its original deletion time.
      store.put(fileRecord("old", { deleted: true }));
      store.put(fileRecord("live"));
      assertStrictEquals(store.purgeTombstones(5_500), 1);
      assertStrictEquals(store.get("old"), undefined);
      assert(store.get("new")?.deleted);
      assert(store.get("live"));
      // A path revived and deleted again counts from the new deletion.
      store.put(fileRecord("new"));
      now = 9_000;
      store.put(fileRecord("new", { deleted: true }));
      assertStrictEquals(store.purgeTombstones(8_000), 0);
      assertStrictEquals(store.purgeTombstones(9_001), 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.statMap() lists change-detection fields below a directory", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      store.putMany(
        ["a", "a/x", "a/y/z", "a b", "a0", "ab/c", "b"].map((p) =>
          fileRecord(p)
        ),
      );
      assertEquals([...store.statMap("a").keys()].sort(), ["a/x", "a/y/z"]);
      assertStrictEquals(store.statMap("").size, 7);
      assertEquals([...store.statMap("nothing").keys()], []);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.touchMany() updates local stat without a new sequence", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      const before = store.put(fileRecord("a", { inode: 1, dev: 2 }));
      store.touchMany([{ path: "a", mtimeNs: 42_000_000n, inode: 9, dev: 2 }]);
      const after = store.get("a")!;
      assertStrictEquals(after.sequence, before.sequence);
      assertStrictEquals(after.mtimeNs, 42_000_000n);
      assertStrictEquals(after.inode, 9);
      assertStrictEquals(store.maxSequence, before.sequence);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.statsWithSequence() gives getStat() and sequenceOf() of the paths that have a record", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      store.putMany([
        fileRecord("a", { inode: 1, dev: 2 }),
        fileRecord("d/b", { deleted: true }),
        fileRecord("c"),
      ]);
      const found = store.statsWithSequence(["a", "d/b", "missing", "a"]);
      assertEquals([...found.keys()].sort(), ["a", "d/b"]);
      for (const path of ["a", "d/b"]) {
        assertEquals(found.get(path)!.stat, store.getStat(path));
        assertStrictEquals(found.get(path)!.sequence, store.sequenceOf(path));
      }
      assertEquals(store.statsWithSequence([]).size, 0);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.putMany() rolls back on a bad record", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    try {
      const bad = fileRecord("bad", {
        chunks: [{ offset: 0, length: 1, hash: new Uint8Array(3) }],
      });
      assertThrows(() => store.putMany([fileRecord("ok"), bad]), RangeError);
      assertStrictEquals(store.get("ok"), undefined);
      assertStrictEquals(store.maxSequence, 0);
      assertStrictEquals(store.put(fileRecord("ok")).sequence, 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.open() reports a corrupt database as IndexCorruptError", async () => {
  await withFolder(async (dir) => {
    await Deno.mkdir(`${dir}/.dsync`);
    await Deno.writeTextFile(
      `${dir}/.dsync/index.db`,
      "not a database ".repeat(500),
    );
    assertThrows(() => IndexStore.open(dir), IndexCorruptError);
  });
});

Deno.test("IndexStore reports malformed rows as IndexCorruptError", async () => {
  await withFolder((dir) => {
    IndexStore.open(dir).close();
    const raw = new DatabaseSync(`${dir}/.dsync/index.db`);
    raw.prepare(
      `INSERT INTO files (path, kind, size, mtime_ns, exec, deleted, sequence, hash, version, chunks)
       VALUES ('x', 7, 0, 0, 0, 0, 1, x'', x'', x'')`,
    ).run();
    raw.close();
    const store = IndexStore.open(dir);
    try {
      assertThrows(() => store.get("x"), IndexCorruptError);
      assertThrows(() => store.statMap(""), IndexCorruptError);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.open() refuses an index of another schema version", async () => {
  await withFolder((dir) => {
    IndexStore.open(dir).close();
    setSchemaVersion(dir, 99);
    assertThrows(() => IndexStore.open(dir), IndexCorruptError);
  });
});

Deno.test("IndexStore.open() refuses a folder that does not exist", async () => {
  await withFolder((dir) => {
    assertThrows(() => IndexStore.open(`${dir}/missing`), Deno.errors.NotFound);
    assertThrows(() => Deno.statSync(`${dir}/missing`), Deno.errors.NotFound);
  });
});

Deno.test("IndexStore.open() migrates a schema 1 index to file hashes over chunk hashes", async () => {
  await withFolder((dir) => {
    const store = IndexStore.open(dir);
    const stale = store.put(fileRecord("a")); // hash is not over its chunks
    const gone = store.put(
      fileRecord("b", { deleted: true, chunks: [], size: 0 }),
    );
    store.close();
    setSchemaVersion(dir, 1);
    const again = IndexStore.open(dir);
    try {
      const a = again.get("a")!;
      assertEquals(a.hash, fileHashOfChunks(stale.chunks));
      assertEquals(a.version, stale.version);
      assertStrictEquals(a.sequence, stale.sequence);
      assertEquals(again.get("b")!.hash, gone.hash);
    } finally {
      again.close();
    }
    const check = new DatabaseSync(`${dir}/.dsync/index.db`);
    const row = check.prepare(
      "SELECT value FROM meta WHERE key = 'schema_version'",
    ).get() as { value: number };
    check.close();
    assertStrictEquals(Number(row.value), 2);
  });
});
