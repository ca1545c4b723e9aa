import { assertEquals, assertThrows } from "../assert.ts";
import type { FileRecord } from "../../src/index/file_record.ts";
import { blake3, toHex } from "../../src/index/hash.ts";
import { IndexStore } from "../../src/index/store.ts";
import { versionOf } from "../../src/index/version_vector.ts";
import { CaseFoldIndex } from "../../src/sync/session/case_fold.ts";
import {
  ChunkListGoneError,
  RemoteIndex,
} from "../../src/index/remote_index.ts";
import { fileHashOfChunks } from "../../src/index/hash.ts";
import { chunkCountOf } from "../../src/index/chunk_list.ts";

const enc = new TextEncoder();
const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const BIG_REPLICA = (1n << 64n) - 2n;

function file(path: string, content: string, counter = 1): FileRecord {
  const data = enc.encode(content);
  return {
    path,
    kind: "file",
    size: data.length,
    mtimeNs: (1n << 62n) + 5n,
    exec: false,
    hash: blake3(data),
    chunks: [{ offset: 0, length: data.length, hash: blake3(data) }],
    version: versionOf([[BIG_REPLICA, counter]]),
    deleted: false,
    sequence: 0,
  };
}

async function withIndex(
  fn: (
    store: IndexStore,
    remote: RemoteIndex,
    folder: string,
  ) => void | Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir();
  const store = IndexStore.open(folder);
  const remote = RemoteIndex.of(store);
  try {
    await fn(store, remote, folder);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("RemoteIndex stores records per replica and keeps the highest sequence", () =>
  withIndex((_store, remote) => {
    assertEquals(remote.maxSequence(BIG_REPLICA), 0n);
    const big = (1n << 62n) + 1n;
    remote.storeBatch(BIG_REPLICA, [file("a", "1"), file("b", "2")], big);
    remote.storeBatch(BIG_REPLICA, [file("a", "3", 2)], 5n); // never lowers
    assertEquals(remote.maxSequence(BIG_REPLICA), big);
    assertEquals(remote.get(BIG_REPLICA, "a"), file("a", "3", 2));
    assertEquals(remote.get(7n, "a"), undefined);
    remote.storeBatch(7n, [file("a", "3", 2)], 1n);
    assertEquals(remote.recordsFor("a").map((e) => e.replica).sort(byValue), [
      7n,
      BIG_REPLICA,
    ]);
    assertEquals(remote.replicas().sort(byValue), [7n, BIG_REPLICA]);
  }));

Deno.test("RemoteIndex survives reopening", async () => {
  const folder = await Deno.makeTempDir();
  try {
    let store = IndexStore.open(folder);
    let remote = RemoteIndex.of(store);
    remote.storeBatch(3n, [file("x", "x")], 9n);
    store.close();
    store = IndexStore.open(folder);
    remote = RemoteIndex.of(store);
    assertEquals(remote.maxSequence(3n), 9n);
    assertEquals(remote.get(3n, "x")?.size, 1);
    store.close();
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("RemoteIndex.replicasWithContent() finds peers holding the same bytes", () =>
  withIndex((_store, remote) => {
    const a = file("f", "same");
    remote.storeBatch(1n, [a], 1n);
    remote.storeBatch(2n, [file("f", "other")], 1n);
    remote.storeBatch(3n, [{ ...a, deleted: true }], 1n);
    assertEquals(remote.replicasWithContent("f", a.hash), [1n]);
  }));

Deno.test("RemoteIndex.pendingPaths() lists paths whose peer versions differ from ours", () =>
  withIndex((store, remote) => {
    store.putMany([file("same", "1"), file("older", "1"), {
      ...file("gone", "1"),
    }]);
    remote.storeBatch(1n, [
      file("same", "1"),
      file("older", "2", 2),
      file("new", "n"),
      { ...file("tomb-unknown", ""), deleted: true, chunks: [], size: 0 },
    ], 4n);
    assertEquals(remote.pendingPaths("", 10), ["new", "older"]);
    assertEquals(remote.pendingPaths("new", 10), ["older"]);
    assertEquals(remote.pendingPaths("", 1), ["new"]);
  }));

Deno.test("RemoteIndex.heldSince() marks the local records a replica has in that version", () =>
  withIndex((store, remote) => {
    store.putMany([
      file("same", "1"),
      file("older", "1", 2),
      file("unknown", "u"),
      { ...file("gone", ""), deleted: true, chunks: [], size: 0 },
    ]);
    const [same, older, unknown, gone] = ["same", "older", "unknown", "gone"]
      .map((path) => store.get(path)!.sequence);
    remote.storeBatch(7n, [
      file("same", "1"),
      file("older", "1", 1), // the local version moved on
      { ...file("gone", ""), deleted: true, chunks: [], size: 0 },
    ], 3n);
    remote.storeBatch(8n, [file("same", "1")], 1n);
    const marks = (replica: bigint, after: number, limit: number) =>
      remote.heldSince(replica, after, limit).map((m) =>
        `${m.path}@${m.sequence}:${m.held}`
      );
    assertEquals(marks(7n, 0, 10), [
      `same@${same}:true`,
      `older@${older}:false`,
      `unknown@${unknown}:false`,
      `gone@${gone}:true`,
    ]);
    assertEquals(marks(7n, same!, 2), [
      `older@${older}:false`,
      `unknown@${unknown}:false`,
    ]);
    assertEquals(marks(8n, unknown!, 10), [`gone@${gone}:false`]);
    assertEquals(marks(9n, gone!, 10), []);
  }));

Deno.test("RemoteIndex.localTotals() counts live local files", () =>
  withIndex((store, remote) => {
    store.putMany([
      file("a", "12"),
      file("b", "345"),
      { ...file("c", "x"), deleted: true },
    ]);
    assertEquals(remote.localTotals(), { files: 2, bytes: 5 });
    // Counted again after every change, not before.
    store.putMany([file("d", "6789"), { ...file("a", "12"), deleted: true }]);
    assertEquals(remote.localTotals(), { files: 2, bytes: 7 });
    assertEquals(remote.localTotals(), { files: 2, bytes: 7 });
  }));

Deno.test("RemoteIndex.contentKeptElsewhere() finds deletes whose content a live file or a peer's live record at another path holds", () =>
  withIndex((store, remote) => {
    store.putMany([
      file("old/a", "alpha"),
      file("new/a", "alpha"), // the same content, renamed
      file("old/b", "beta"), // only here
      file("old/c", "gamma"),
      { ...file("gone/c", "gamma"), deleted: true }, // a tombstone keeps nothing
      file("old/f", "zeta"),
      file("copy/f", "zeta"), // deleted in the same round: keeps nothing
    ]);
    // A peer renamed old/e to new/e; not pulled here yet.
    remote.storeBatch(7n, [
      { ...file("old/e", "epsilon"), sequence: 1 },
      { ...file("new/e", "epsilon"), sequence: 2 },
      { ...file("old/b", "beta"), sequence: 3 }, // same path: no move
    ], 3n);
    const hex = (text: string) => toHex(blake3(enc.encode(text)));
    assertEquals(
      [
        ...remote.contentKeptElsewhere(
          new Map([
            ["old/a", hex("alpha")],
            ["old/b", hex("beta")],
            ["old/c", hex("gamma")],
            ["old/d", hex("delta")],
            ["old/e", hex("epsilon")],
            ["old/f", hex("zeta")],
            ["copy/f", hex("zeta")],
          ]),
        ),
      ],
      ["old/a", "old/e"],
    );
  }));

Deno.test("RemoteIndex.replicasWithVersion() finds the replicas whose record of a path has exactly that version", () =>
  withIndex((_store, remote) => {
    remote.storeBatch(5n, [{ ...file("p", "x", 2), sequence: 1 }], 1n);
    remote.storeBatch(6n, [{ ...file("p", "x", 2), sequence: 1 }], 1n);
    remote.storeBatch(7n, [{ ...file("p", "y", 3), sequence: 1 }], 1n);
    const sorted = (ids: bigint[]) => ids.sort(byValue);
    assertEquals(
      sorted(remote.replicasWithVersion("p", versionOf([[BIG_REPLICA, 2]]))),
      [5n, 6n],
    );
    assertEquals(
      remote.replicasWithVersion("p", versionOf([[BIG_REPLICA, 3]])),
      [7n],
    );
    assertEquals(
      remote.replicasWithVersion("p", versionOf([[BIG_REPLICA, 4]])),
      [],
    );
    assertEquals(
      remote.replicasWithVersion("q", versionOf([[BIG_REPLICA, 2]])),
      [],
    );
  }));

Deno.test("RemoteIndex.replicasWithVersions() answers replicasWithVersion() for many paths in one call", () =>
  withIndex((_store, remote) => {
    remote.storeBatch(5n, [{ ...file("p", "x", 2), sequence: 1 }], 1n);
    remote.storeBatch(6n, [{ ...file("p", "x", 2), sequence: 1 }], 1n);
    remote.storeBatch(7n, [
      { ...file("p", "y", 3), sequence: 1 },
      { ...file("q", "z", 1), sequence: 2 },
    ], 2n);
    const asked = [
      { path: "p", version: versionOf([[BIG_REPLICA, 2]]) },
      { path: "q", version: versionOf([[BIG_REPLICA, 1]]) },
      { path: "r", version: versionOf([[BIG_REPLICA, 1]]) },
      { path: "p", version: versionOf([[BIG_REPLICA, 4]]) },
    ];
    const found = remote.replicasWithVersions(asked);
    assertEquals([...found.keys()].sort(), ["p", "q"]);
    assertEquals(found.get("p")!.sort(byValue), [5n, 6n]);
    assertEquals(found.get("q"), [7n]);
    for (const { path, version } of asked.slice(0, 3)) {
      assertEquals(
        (found.get(path) ?? []).sort(byValue),
        remote.replicasWithVersion(path, version).sort(byValue),
      );
    }
    assertEquals(remote.replicasWithVersions([]).size, 0);
  }));

Deno.test("RemoteIndex.replicasWithContents() answers replicasWithContent() for many paths in one call", () =>
  withIndex((_store, remote) => {
    remote.storeBatch(5n, [
      { ...file("p", "x", 2), sequence: 1 },
      { ...file("q", "z", 1), sequence: 2 },
    ], 2n);
    remote.storeBatch(6n, [{ ...file("p", "x", 2), sequence: 1 }], 1n);
    remote.storeBatch(7n, [
      { ...file("p", "y", 3), sequence: 1 },
      { ...file("q", "z", 1), deleted: true, sequence: 2 },
    ], 2n);
    const hashOf = (path: string, replica: bigint) =>
      remote.recordsFor(path).find((r) => r.replica === replica)!.record.hash;
    const asked = [
      { path: "p", hash: hashOf("p", 5n) },
      { path: "q", hash: hashOf("q", 5n) },
      { path: "r", hash: hashOf("q", 5n) },
    ];
    const found = remote.replicasWithContents(asked);
    assertEquals([...found.keys()].sort(), ["p", "q"]);
    for (const { path, hash } of asked) {
      assertEquals(
        (found.get(path) ?? []).sort(byValue),
        remote.replicasWithContent(path, hash).sort(byValue),
      );
    }
    assertEquals(found.get("p")!.sort(byValue), [5n, 6n]);
    assertEquals(remote.replicasWithContents([]).size, 0);
  }));

Deno.test("RemoteIndex.localVersion() reads the version of a local record alone", () =>
  withIndex((store, remote) => {
    store.putMany([file("a", "12", 7)]);
    assertEquals(remote.localVersion("a"), versionOf([[BIG_REPLICA, 7]]));
    assertEquals(remote.localVersion("b"), undefined);
  }));

Deno.test("CaseFoldIndex finds case-only twins of live local paths", () =>
  withIndex((store, remote) => {
    const folds = new CaseFoldIndex(remote);
    store.put(file("Docs/README.md", "1"));
    assertEquals(folds.twin("docs/readme.md"), "Docs/README.md");
    assertEquals(folds.twin("Docs/README.md"), undefined);
    store.put({ ...file("Docs/README.md", ""), deleted: true });
    assertEquals(folds.twin("docs/readme.md"), undefined);
    store.put(file("stra\u00dfe", "1"));
    assertEquals(folds.twin("STRASSE"), "stra\u00dfe");
  }));

function longFile(path: string, count: number, seed: number): FileRecord {
  const chunks = Array.from({ length: count }, (_, i) => ({
    offset: i,
    length: 1,
    hash: blake3(enc.encode(`${seed}:${i}`)),
  }));
  return {
    path,
    kind: "file",
    size: count,
    mtimeNs: 5n,
    exec: false,
    hash: fileHashOfChunks(chunks),
    chunks,
    version: versionOf([[BIG_REPLICA, seed]]),
    deleted: false,
    sequence: 0,
  };
}

Deno.test("RemoteIndex.recordsForMany() gives recordsFor() of each path that has records", () =>
  withIndex((_store, remote) => {
    remote.storeBatch(BIG_REPLICA, [file("a", "1"), file("b/c", "2")], 2n);
    remote.storeBatch(7n, [file("a", "3", 2)], 1n);
    const found = remote.recordsForMany(["a", "b/c", "none"]);
    assertEquals([...found.keys()].sort(), ["a", "b/c"]);
    for (const path of ["a", "b/c"]) {
      const sorted = (es: { replica: bigint }[]) =>
        [...es].sort((x, y) => byValue(x.replica, y.replica));
      assertEquals(sorted(found.get(path)!), sorted(remote.recordsFor(path)));
    }
    assertEquals(remote.recordsForMany([]).size, 0);
  }));

Deno.test("RemoteIndex.localTotals() counts again after a change, unless the last count is younger than maxAgeMs", () =>
  withIndex((store, remote) => {
    store.put(file("a", "1"));
    assertEquals(remote.localTotals(1000, 0).files, 1);
    store.put(file("b", "22"));
    assertEquals(remote.localTotals(1000, 999).files, 1);
    assertEquals(remote.localTotals(1000, 1001), { files: 2, bytes: 3 });
    store.put(file("c", "3"));
    assertEquals(remote.localTotals(0, 1001).files, 3);
  }));

Deno.test("RemoteIndex.localVersions() gives localVersion() of each path that has a local record", () =>
  withIndex((store, remote) => {
    store.putMany([file("a", "1", 3), { ...file("b", "2", 4), deleted: true }]);
    const found = remote.localVersions(["a", "b", "none"]);
    assertEquals([...found.keys()].sort(), ["a", "b"]);
    assertEquals(found.get("a"), remote.localVersion("a"));
    assertEquals(found.get("b"), remote.localVersion("b"));
    assertEquals(remote.localVersions([]).size, 0);
  }));

Deno.test("RemoteIndex.storeBatch() stores a batch of many records, the last of a repeated path winning", () =>
  withIndex((_store, remote) => {
    const records = Array.from({ length: 70 }, (_, i) => file(`f${i}`, `${i}`));
    records[5] = file("f0", "again", 2);
    remote.storeBatch(7n, records, 70n);
    assertEquals(remote.get(7n, "f0"), file("f0", "again", 2));
    assertEquals(remote.get(7n, "f69"), file("f69", "69"));
    assertEquals(remote.get(7n, "f5"), undefined);
    assertEquals(remote.recordsForMany(records.map((r) => r.path)).size, 69);
  }));

Deno.test("RemoteIndex reads a long chunk list when it is first used, and refuses one that changed since", () =>
  withIndex((_store, remote) => {
    const first = longFile("big.bin", 3000, 1);
    remote.storeBatch(BIG_REPLICA, [first], 1n);
    const read = remote.get(BIG_REPLICA, "big.bin")!;
    const [entry] = remote.recordsFor("big.bin");
    // Its length is known before the list is read (a pull's memory is
    // decided on it): a list changed since still counts as read.
    assertEquals(chunkCountOf(entry!.record), 3000);
    assertEquals(read.chunks.length, 3000);
    assertEquals(read.chunks[2999]!.hash, first.chunks[2999]!.hash);
    assertEquals(read.chunks[2999]!.offset, 2999);
    remote.storeBatch(BIG_REPLICA, [longFile("big.bin", 2000, 2)], 2n);
    assertThrows(() => entry!.record.chunks, ChunkListGoneError);
    assertEquals(remote.get(BIG_REPLICA, "big.bin")!.chunks.length, 2000);
  }));
