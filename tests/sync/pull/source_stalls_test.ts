/**
 * The stall rule (`src/sync/pull/source_stalls.ts`) and the chunk fetcher
 * with a complete holder that stays connected and never answers: its
 * chunks go to another source, or the pull ends with
 * `StalledSourceError` (retried later with back-off by the failure policy).
 */
import { assert, assertEquals, assertRejects } from "../../assert.ts";
import { noise } from "../../_noise.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import {
  EMPTY_VERSION,
  type FileRecord,
  IndexStore,
} from "../../../src/index/mod.ts";
import {
  ChunkFetcher,
  type ChunkSource,
} from "../../../src/sync/pull/chunk_fetcher.ts";
import { LocalChunkIndex } from "../../../src/sync/pull/chunk_source.ts";
import {
  isStalled,
  SourceStalls,
  STALL_MS,
  StalledSourceError,
} from "../../../src/sync/pull/source_stalls.ts";
import { failureKind } from "../../../src/sync/pull/failure_policy.ts";
import { ChunkUnavailableError } from "../../../src/sync/session/mod.ts";

Deno.test("isStalled() holds only for a source awaited with no answer for the whole window (table)", () => {
  const cases: [string, number, number, number, boolean][] = [
    // name, awaited, since, now
    ["nothing awaited, silent for ages", 0, 0, 10 * STALL_MS, false],
    ["awaited, answered just now", 5, 1_000, 1_000, false],
    ["awaited, last answer 24.9 s ago", 5, 0, STALL_MS - 100, false],
    ["awaited, last answer 25 s ago", 1, 0, STALL_MS, true],
    ["awaited, a minute of silence", 1024, 0, 60_000, true],
    // A slow honest link: 256 KiB every 2 s at 1 Mbit/s.
    ["slow link, answers every 2 s", 16, 98_000, 100_000, false],
  ];
  for (const [name, awaited, since, now, want] of cases) {
    assertEquals(isStalled({ awaited, since }, now), want, name);
  }
});

Deno.test("SourceStalls: any answer restarts the window; a stalled source's listeners are told once", () => {
  let now = 0;
  const stalls = new SourceStalls({ now: () => now, windowMs: 1_000 });
  try {
    let told = 0;
    const off = stalls.onStall("m", () => told++);
    stalls.sent("m");
    stalls.sent("m");
    now = 900;
    stalls.answered("m"); // a refusal or bytes: an answer either way
    now = 1_800;
    stalls.check();
    assertEquals([stalls.stalled("m"), told], [false, 0]);
    now = 1_900;
    stalls.check();
    assertEquals([stalls.stalled("m"), told], [true, 1]);
    stalls.check();
    assertEquals(told, 1);
    off();
    // Nothing awaited: never stalled, however long it is quiet.
    stalls.dropped("m");
    now = 100_000;
    assertEquals(stalls.stalled("m"), false);
    // A new request starts a new window.
    stalls.sent("m");
    assertEquals(stalls.stalled("m"), false);
  } finally {
    stalls.close();
  }
});

Deno.test("StalledSourceError is retried with back-off (failure kind `stalled`)", () => {
  assertEquals(failureKind(new StalledSourceError("a", "m")), "stalled");
});

function recordOf(data: Uint8Array): FileRecord {
  const digest = digestBytes(data);
  return {
    path: "big.bin",
    kind: "file",
    size: digest.size,
    mtimeNs: 0n,
    exec: false,
    hash: digest.hash,
    chunks: digest.chunks,
    version: EMPTY_VERSION,
    deleted: false,
    sequence: 0,
  };
}

/** A complete holder that never answers; counts what it was asked. */
function silentSource(asked: { n: number }): ChunkSource {
  return {
    key: "mallory",
    label: "mallory (M)",
    open: true,
    load: 0,
    request() {
      asked.n++;
      return new Promise(() => {}); // never answers
    },
  };
}

function servingSource(data: Uint8Array, asked: { n: number }): ChunkSource {
  return {
    key: "alice",
    open: true,
    load: 1 << 20, // busier: the silent one is asked first
    request(path, _hash, offset, length) {
      asked.n++;
      if (length === 0) {
        return Promise.reject(
          new ChunkUnavailableError(path, offset, "changed"),
        );
      }
      return Promise.resolve(data.slice(offset, offset + length));
    },
  };
}

async function fillWith(
  sources: () => ChunkSource[],
  record: FileRecord,
  stalls: SourceStalls,
): Promise<Uint8Array> {
  const folder = await Deno.makeTempDir({ prefix: "dsync-stall-fetch-" });
  const store = IndexStore.open(folder);
  const out = new Uint8Array(record.size);
  try {
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      peers: { sourcesFor: sources },
      // Every pick looks the sources up again (new objects each time).
      now: (() => {
        let t = 0;
        return () => t += 10_000;
      })(),
      stalls,
    });
    await fetcher.fill(
      record,
      {
        write: (offset, bytes) => Promise.resolve(void out.set(bytes, offset)),
      },
      1 << 20,
      new AbortController().signal,
      () => {},
    );
    return out;
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("ChunkFetcher takes a stalled complete holder's chunks from another source, asked through any of its looked-up objects", async () => {
  const data = noise(2 << 20, 41);
  const record = recordOf(data);
  const silent = { n: 0 };
  const honest = { n: 0 };
  const stalls = new SourceStalls({ windowMs: 200 });
  try {
    const out = await fillWith(
      () => [silentSource(silent), servingSource(data, honest)],
      record,
      stalls,
    );
    assertEquals(out, data);
    assert(silent.n > 0, "the silent source was asked first");
    assertEquals(honest.n, record.chunks.length);
    assert(stalls.stalled("mallory"));
  } finally {
    stalls.close();
  }
});

Deno.test("ChunkFetcher ends a pull whose only source stalled, with StalledSourceError", async () => {
  const data = noise(1 << 20, 42);
  const record = recordOf(data);
  const stalls = new SourceStalls({ windowMs: 200 });
  try {
    await assertRejects(
      () => fillWith(() => [silentSource({ n: 0 })], record, stalls),
      StalledSourceError,
      "mallory (M)",
    );
  } finally {
    stalls.close();
  }
});

Deno.test("ChunkFetcher.assemble() asks another source once one stalls", async () => {
  const data = noise(100 << 10, 43);
  const record = recordOf(data);
  const folder = await Deno.makeTempDir({ prefix: "dsync-stall-asm-" });
  const store = IndexStore.open(folder);
  const stalls = new SourceStalls({ windowMs: 200 });
  try {
    const honest = { n: 0 };
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      peers: {
        sourcesFor: () => [silentSource({ n: 0 }), servingSource(data, honest)],
      },
      stalls,
    });
    const out = await fetcher.assemble(
      record,
      new AbortController().signal,
      () => {},
    );
    assertEquals(out, data);
    assertEquals(honest.n, record.chunks.length);
  } finally {
    stalls.close();
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});
