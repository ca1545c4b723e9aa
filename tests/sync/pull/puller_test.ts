import { assert, assertEquals } from "../../assert.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3 } from "../../../src/index/hash.ts";
import { IgnoreRules } from "../../../src/index/ignore_rules.ts";
import { Scanner } from "../../../src/index/scanner.ts";
import { IndexStore } from "../../../src/index/store.ts";
import {
  bump,
  compare,
  EMPTY_VERSION,
  type VersionVector,
} from "../../../src/index/version_vector.ts";
import { ApplyGate } from "../../../src/sync/apply/apply_gate.ts";
import { ChunkUnavailableError } from "../../../src/sync/session/chunk_requests.ts";
import { LocalChunkIndex } from "../../../src/sync/pull/chunk_source.ts";
import { EchoFilter } from "../../../src/sync/apply/echo_filter.ts";
import type { ChunkSource } from "../../../src/sync/pull/chunk_fetcher.ts";
import { Puller } from "../../../src/sync/pull/puller.ts";
import type { PullerOptions } from "../../../src/sync/pull/pull_context.ts";
import { LeftoverParts } from "../../../src/sync/pull/part_cleanup.ts";
import { RemoteIndex } from "../../../src/index/remote_index.ts";

const PEER = 0xabcdefn;
const MTIME = 1_600_000_000_000n * 1_000_000n;

function remoteFile(
  path: string,
  data: Uint8Array,
  version: VersionVector = bump(EMPTY_VERSION, PEER),
): FileRecord {
  const digest = digestBytes(data);
  return {
    path,
    kind: "file",
    size: data.length,
    mtimeNs: MTIME,
    exec: false,
    hash: digest.hash,
    chunks: digest.chunks,
    version,
    deleted: false,
    sequence: 0,
  };
}

/** A peer that serves chunks from in-memory files, counting requests. */
class FakePeer implements ChunkSource {
  readonly key = "peer";
  open = true;
  load = 0;
  requests = 0;
  readonly files = new Map<string, Uint8Array>();
  /** Runs (once) while the first chunk of a path is being fetched. */
  readonly during = new Map<string, () => Promise<void>>();
  async request(
    path: string,
    hash: Uint8Array,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    this.requests++;
    const during = this.during.get(path);
    this.during.delete(path);
    await during?.();
    const data = this.files.get(path)?.slice(offset, offset + length);
    if (data === undefined || data.length !== length) {
      throw new ChunkUnavailableError(path, offset, "not_found");
    }
    const same = blake3(data).every((b, i) => b === hash[i]);
    if (!same) throw new ChunkUnavailableError(path, offset, "changed");
    return data;
  }
}

interface World {
  dir: string;
  store: IndexStore;
  remote: RemoteIndex;
  peer: FakePeer;
  puller: Puller;
  scanner: Scanner;
  connected: boolean;
  rescans: string[][];
  announce(records: FileRecord[]): void;
}

async function withWorld(
  fn: (w: World) => Promise<void>,
  more: Partial<PullerOptions> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const store = IndexStore.open(dir);
  const remote = RemoteIndex.of(store);
  const gate = new ApplyGate();
  const ignore = await IgnoreRules.load(dir);
  const scanner = new Scanner({
    folder: dir,
    store,
    ignore,
    hasher: {
      hashFile: (p) => Promise.resolve(digestBytes(Deno.readFileSync(p))),
    },
  });
  const peer = new FakePeer();
  let sequence = 0n;
  const w: World = {
    dir,
    store,
    remote,
    peer,
    scanner,
    connected: true,
    rescans: [],
    puller: undefined as unknown as Puller,
    announce(records) {
      for (const r of records) {
        peer.files.set(r.path, peer.files.get(r.path) ?? new Uint8Array());
      }
      sequence += BigInt(records.length);
      remote.storeBatch(PEER, records, sequence);
      w.puller.offer(records);
    },
  };
  w.puller = new Puller({
    folder: dir,
    store,
    remote,
    chunkIndex: new LocalChunkIndex(store),
    gate,
    echo: new EchoFilter(),
    maxConcurrentTransfers: 2,
    peers: { sourcesFor: () => (w.connected ? [peer] : []) },
    host: {
      rescan: async (paths) => {
        w.rescans.push(paths);
        await gate.run(() => scanner.scanPaths(paths));
      },
      stored: () => {},
      idle: () => {},
    },
    smallFileBytes: 64 * 1024,
    ...more,
  });
  try {
    await fn(w);
  } finally {
    await w.puller.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

Deno.test("Puller pulls small and big files and stores the peer's version with the disk stat", () =>
  withWorld(async (w) => {
    const small = bytes(1000, 1);
    const big = bytes(600_000, 2);
    w.peer.files.set("docs/small.txt", small);
    w.peer.files.set("big.bin", big);
    const records: FileRecord[] = [
      {
        ...remoteFile("docs", new Uint8Array()),
        kind: "dir",
        hash: new Uint8Array(),
        chunks: [],
      },
      remoteFile("docs/small.txt", small),
      remoteFile("big.bin", big),
    ];
    w.announce(records);
    await w.puller.whenIdle();
    assertEquals(await Deno.readFile(`${w.dir}/docs/small.txt`), small);
    assertEquals(await Deno.readFile(`${w.dir}/big.bin`), big);
    for (const r of records.slice(1)) {
      const stored = w.store.get(r.path)!;
      assertEquals(compare(stored.version, r.version), "equal");
      const info = await Deno.lstat(`${w.dir}/${r.path}`);
      assertEquals(stored.inode, info.ino ?? undefined);
      assertEquals(info.mtime?.getTime(), Number(MTIME / 1_000_000n));
    }
    // A scan finds nothing new: our own writes are not local edits.
    const before = w.store.maxSequence;
    await w.scanner.scan();
    assertEquals(w.store.maxSequence, before);
    assertEquals(w.puller.counters.files, 2);
  }));

Deno.test("Puller looks up the sources of a group of small files together when the directory can", async () => {
  const lookups: { many: string[][]; one: string[] } = { many: [], one: [] };
  let peer: FakePeer | undefined;
  await withWorld(async (w) => {
    peer = w.peer;
    const files = Array.from({ length: 5 }, (_, i) => bytes(500 + i, 10 + i));
    const records = files.map((data, i) => {
      w.peer.files.set(`g/f${i}`, data);
      return remoteFile(`g/f${i}`, data);
    });
    w.announce(records);
    await w.puller.whenIdle();
    for (const [i, data] of files.entries()) {
      assertEquals(await Deno.readFile(`${w.dir}/g/f${i}`), data);
    }
  }, {
    peers: {
      sourcesFor: (path) => (lookups.one.push(path), [peer!]),
      sourcesForMany: (files) => {
        lookups.many.push(files.map((f) => f.path).sort());
        return new Map(files.map((f) => [f.path, [peer!]]));
      },
    },
  });
  assertEquals(lookups.many, [["g/f0", "g/f1", "g/f2", "g/f3", "g/f4"]]);
  assertEquals(lookups.one, []);
});

Deno.test("Puller builds a renamed file from local chunks without asking the peer", () =>
  withWorld(async (w) => {
    const data = bytes(700_000, 3);
    await Deno.writeFile(`${w.dir}/old.bin`, data);
    await w.scanner.scan();
    w.announce([remoteFile("new.bin", data)]);
    await w.puller.whenIdle();
    assertEquals(w.peer.requests, 0);
    assertEquals(await Deno.readFile(`${w.dir}/new.bin`), data);
    assertEquals(w.puller.counters.reusedBytes, data.length);
  }));

Deno.test("Puller never overwrites a local edit the index has not seen", () =>
  withWorld(async (w) => {
    const original = bytes(500, 4);
    await Deno.writeFile(`${w.dir}/doc.txt`, original);
    await w.scanner.scan();
    const local = w.store.get("doc.txt")!;
    // The user edits the file; no scan yet.
    const edit = new TextEncoder().encode("my unsaved work, newer than yours");
    await Deno.writeFile(`${w.dir}/doc.txt`, edit);
    // The peer changed it too, on top of the same version.
    const theirs = bytes(700, 5);
    w.peer.files.set("doc.txt", theirs);
    w.announce([{
      ...remoteFile("doc.txt", theirs, bump(local.version, PEER)),
      mtimeNs: 1_000n, // older than the edit: ours wins the conflict
    }]);
    await w.puller.whenIdle();
    assert(w.rescans.some((paths) => paths.includes("doc.txt")));
    assertEquals(await Deno.readFile(`${w.dir}/doc.txt`), edit);
  }));

for (const size of [1000, 600_000]) {
  Deno.test(`Puller never replaces a local edit recorded while it fetched (${size} bytes)`, () =>
    withWorld(async (w) => {
      const theirs = bytes(size, 6);
      const mine = new TextEncoder().encode("written here while the pull ran");
      w.peer.files.set("new.txt", theirs);
      // Planned against "no local record"; the user's file is written and
      // indexed before the pull commits.
      w.peer.during.set("new.txt", async () => {
        await Deno.writeFile(`${w.dir}/new.txt`, mine);
        await w.scanner.scanPaths(["new.txt"]);
      });
      w.announce([{
        ...remoteFile("new.txt", theirs),
        mtimeNs: 1_000n, // older than the local write: ours wins
      }]);
      await w.puller.whenIdle();
      assertEquals(await Deno.readFile(`${w.dir}/new.txt`), mine);
      const stored = w.store.get("new.txt")!;
      assertEquals(stored.size, mine.length);
      assert(
        stored.version.some((e) => e.replica === w.store.replicaId),
        "the local write keeps its version",
      );
    }));
}

Deno.test("Puller keeps the losing side of a conflict as a conflict copy", () =>
  withWorld(async (w) => {
    await Deno.writeFile(
      `${w.dir}/notes.txt`,
      new TextEncoder().encode("mine"),
    );
    await w.scanner.scan();
    const theirs = new TextEncoder().encode("theirs, newer");
    w.peer.files.set("notes.txt", theirs);
    w.announce([{
      ...remoteFile("notes.txt", theirs),
      mtimeNs: 4_000_000_000_000_000_000n, // far future: theirs wins
    }]);
    await w.puller.whenIdle();
    assertEquals(
      await Deno.readTextFile(`${w.dir}/notes.txt`),
      "theirs, newer",
    );
    const copies = [...Deno.readDirSync(w.dir)].map((e) => e.name).filter((n) =>
      n.startsWith("notes.sync-conflict-")
    );
    assertEquals(copies.length, 1);
    assertEquals(await Deno.readTextFile(`${w.dir}/${copies[0]}`), "mine");
    assert(w.store.get(copies[0]!) !== undefined, "conflict copy indexed");
    // Moving the loser aside was no delete of ours: the stored version is
    // the loser's merged with the winner's, not one bumped past it.
    const stored = w.store.get("notes.txt")!;
    assertEquals(stored.deleted, false);
    assertEquals(
      stored.version.find((e) => e.replica === w.store.replicaId)?.counter,
      1,
    );
  }));

Deno.test("Puller moves the losing copy aside only when the winner is here to take its place", () =>
  withWorld(async (w) => {
    await Deno.writeTextFile(`${w.dir}/notes.txt`, "mine");
    await w.scanner.scan();
    const before = w.store.get("notes.txt")!;
    const theirs = new TextEncoder().encode("theirs, newer");
    // Announced, but no peer can serve it yet.
    w.announce([{
      ...remoteFile("notes.txt", theirs),
      mtimeNs: 4_000_000_000_000_000_000n, // far future: theirs wins
    }]);
    w.peer.files.delete("notes.txt");
    await w.puller.whenIdle();
    assertEquals(await Deno.readTextFile(`${w.dir}/notes.txt`), "mine");
    assertEquals(
      [...Deno.readDirSync(w.dir)].filter((e) => e.name.includes("conflict")),
      [],
    );
    // Nothing recorded for the path meanwhile: no delete, no new version.
    assertEquals(w.store.get("notes.txt")!.sequence, before.sequence);
    // The winner arrives: one step keeps ours and puts theirs in place.
    w.peer.files.set("notes.txt", theirs);
    w.puller.retryWaiting();
    await w.puller.whenIdle();
    assertEquals(
      await Deno.readTextFile(`${w.dir}/notes.txt`),
      "theirs, newer",
    );
    const copies = [...Deno.readDirSync(w.dir)].map((e) => e.name).filter((
      n,
    ) => n.startsWith("notes.sync-conflict-"));
    assertEquals(copies.length, 1);
    assertEquals(await Deno.readTextFile(`${w.dir}/${copies[0]}`), "mine");
    const stored = w.store.get("notes.txt")!;
    assertEquals(stored.deleted, false);
    assertEquals(compare(stored.version, before.version), "greater");
  }));

Deno.test("Puller deletes only what the index holds and stores the peer's tombstone", () =>
  withWorld(async (w) => {
    await Deno.mkdir(`${w.dir}/dir`);
    await Deno.writeTextFile(`${w.dir}/dir/a.txt`, "a");
    await Deno.writeTextFile(`${w.dir}/b.txt`, "b");
    await w.scanner.scan();
    const tomb = (path: string, kind: "file" | "dir" = "file"): FileRecord => ({
      ...w.store.get(path)!,
      kind,
      size: 0,
      hash: new Uint8Array(),
      chunks: [],
      deleted: true,
      version: bump(w.store.get(path)!.version, PEER),
    });
    await Deno.writeTextFile(`${w.dir}/b.txt`, "edited, unseen");
    w.announce([tomb("dir", "dir"), tomb("dir/a.txt"), tomb("b.txt")]);
    await w.puller.whenIdle();
    assertEquals([...Deno.readDirSync(w.dir)].map((e) => e.name).sort(), [
      ".dsync",
      "b.txt",
    ]);
    assert(w.store.get("dir/a.txt")!.deleted);
    assert(w.store.get("dir")!.deleted);
    assertEquals(await Deno.readTextFile(`${w.dir}/b.txt`), "edited, unseen");
    assert(!w.store.get("b.txt")!.deleted, "the edit wins over the delete");
  }));

Deno.test("Puller waits for a peer that can serve a file, then pulls it", () =>
  withWorld(async (w) => {
    const data = bytes(2000, 6);
    w.peer.files.set("later.bin", data);
    w.connected = false;
    w.announce([remoteFile("later.bin", data)]);
    await w.puller.whenIdle();
    assertEquals(w.puller.waiting, 1);
    w.connected = true;
    w.puller.retryWaiting();
    await w.puller.whenIdle();
    assertEquals(w.puller.pending, 0);
    assertEquals(await Deno.readFile(`${w.dir}/later.bin`), data);
  }));

Deno.test("Puller resumes from the remote index after a restart", () =>
  withWorld(async (w) => {
    const data = bytes(3000, 7);
    w.peer.files.set("x.bin", data);
    w.remote.storeBatch(PEER, [remoteFile("x.bin", data)], 1n); // stored, never pulled
    assertEquals(await w.puller.queuePendingFromIndex(), 1);
    await w.puller.whenIdle();
    assertEquals(await Deno.readFile(`${w.dir}/x.bin`), data);
  }));

Deno.test("Puller keeps the .part of a pull no peer can finish and resumes it later", async () => {
  const leftovers = new LeftoverParts();
  await withWorld(async (w) => {
    const data = bytes(3 << 20, 8);
    const record = remoteFile("big.bin", data);
    // The peer has only the first 2.5 MiB for now.
    w.peer.files.set("big.bin", data.slice(0, 5 << 19));
    w.announce([record]);
    await w.puller.whenIdle();
    assertEquals(w.puller.waiting, 1);
    assertEquals(leftovers.size, 1);
    const parts = [...Deno.readDirSync(w.dir)].filter((e) =>
      e.name.endsWith(".part")
    );
    assertEquals(parts.length, 1);
    // Held (allocated), not size: the part fills in the puller's own order.
    const info = Deno.statSync(`${w.dir}/${parts[0]!.name}`);
    const kept = Math.min(info.size, (info.blocks ?? 0) * 512);
    assert(kept >= 1 << 20, `${kept} bytes kept`);
    const before = w.puller.counters.fetchedBytes;
    w.peer.files.set("big.bin", data);
    w.puller.retryWaiting();
    await w.puller.whenIdle();
    assertEquals(await Deno.readFile(`${w.dir}/big.bin`), data);
    const counters = w.puller.counters;
    assert(
      counters.resumedBytes >= kept - (256 << 10),
      `${counters.resumedBytes} resumed`,
    );
    assertEquals(
      counters.fetchedBytes - before + counters.resumedBytes,
      data.length,
    );
    assertEquals(leftovers.size, 0);
    assertEquals(
      [...Deno.readDirSync(w.dir)].filter((e) => e.name.endsWith(".part")),
      [],
    );
  }, { leftovers, fileWindowBytes: 256 << 10 });
});
