/**
 * The chunk fetcher with peers still receiving the file (swarming): it asks
 * a partial holder only for the chunks it announced, and a partial holder
 * whose claim fails (refused, or never answered) costs one request, after
 * which the pull goes on from the complete holder.
 */
import { assert, assertEquals } from "../../assert.ts";
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
import { ChunkUnavailableError } from "../../../src/sync/session/mod.ts";

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

type Behaviour = "serve" | "refuse";

/** A source answering from `data`; `held` makes it a partial holder. */
function source(
  key: string,
  data: Uint8Array,
  asked: number[],
  behaviour: Behaviour,
  held?: (index: number) => boolean,
  load = 0,
): ChunkSource {
  return {
    key,
    open: true,
    load,
    request(path, _hash, offset, length) {
      asked.push(offset);
      if (behaviour === "refuse") {
        return Promise.reject(
          new ChunkUnavailableError(path, offset, "changed"),
        );
      }
      return Promise.resolve(data.slice(offset, offset + length));
    },
    ...(held === undefined ? {} : { holds: held }),
  };
}

async function withFetcher(
  sources: ChunkSource[],
  fn: (fetcher: ChunkFetcher) => Promise<void>,
  partialTimeoutMs?: number,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "dsync-swarm-fetch-" });
  const store = IndexStore.open(folder);
  try {
    await fn(
      new ChunkFetcher({
        folder,
        chunkIndex: new LocalChunkIndex(store),
        peers: { sourcesFor: () => sources },
        ...(partialTimeoutMs === undefined ? {} : { partialTimeoutMs }),
      }),
    );
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
}

async function fill(
  fetcher: ChunkFetcher,
  record: FileRecord,
): Promise<Uint8Array> {
  const out = new Uint8Array(record.size);
  await fetcher.fill(
    record,
    { write: (offset, bytes) => Promise.resolve(void out.set(bytes, offset)) },
    1,
    new AbortController().signal,
    () => {},
  );
  return out;
}

Deno.test("ChunkFetcher asks a partial holder only for the chunks it announced", async () => {
  const data = noise(2 << 20, 31);
  const record = recordOf(data);
  const n = record.chunks.length;
  assert(n >= 8, `${n} chunks`);
  const half = Math.floor(n / 2);
  const fromWhole: number[] = [];
  const fromPartial: number[] = [];
  // The complete holder is busy (a slow link): the partial holder is
  // preferred wherever it holds the chunk.
  const whole = source("alpha", data, fromWhole, "serve", undefined, 1 << 20);
  const partial = source("beta", data, fromPartial, "serve", (i) => i < half);
  await withFetcher([whole, partial], async (fetcher) => {
    assertEquals(await fill(fetcher, record), data);
  });
  const offsets = record.chunks.map((c) => c.offset);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  assertEquals(sorted(fromPartial), offsets.slice(0, half));
  assertEquals(sorted(fromWhole), offsets.slice(half));
});

Deno.test("ChunkFetcher: receivers with their own seeds ask a holder for different chunks first", async () => {
  // 16 MiB: 16 segments of 1 MiB.
  const data = noise(16 << 20, 34);
  const record = recordOf(data);
  const firsts: number[][] = [];
  for (const orderSeed of [1, 2, 3]) {
    const asked: number[] = [];
    const folder = await Deno.makeTempDir({ prefix: "dsync-swarm-fetch-" });
    const store = IndexStore.open(folder);
    try {
      const fetcher = new ChunkFetcher({
        folder,
        chunkIndex: new LocalChunkIndex(store),
        peers: { sourcesFor: () => [source("alpha", data, asked, "serve")] },
        orderSeed,
      });
      assertEquals(await fill(fetcher, record), data);
    } finally {
      store.close();
      await Deno.remove(folder, { recursive: true });
    }
    assertEquals(asked.length, record.chunks.length);
    firsts.push(asked.slice(0, 8));
  }
  const [a, b, c] = firsts.map((xs) => new Set(xs));
  const shared = (x: Set<number>, y: Set<number>) =>
    [...x].filter((i) => y.has(i)).length;
  assert(
    shared(a!, b!) + shared(a!, c!) + shared(b!, c!) < 8,
    `first requests overlap: ${JSON.stringify(firsts)}`,
  );
});

Deno.test("ChunkFetcher falls back to the complete holder when a partial holder's claim fails, and stops asking it", async () => {
  const data = noise(2 << 20, 32);
  const record = recordOf(data);
  const fromWhole: number[] = [];
  const fromLiar: number[] = [];
  const whole = source("alpha", data, fromWhole, "serve", undefined, 1 << 20);
  // Claims every chunk, serves none.
  const liar = source("mallory", data, fromLiar, "refuse", () => true);
  await withFetcher([whole, liar], async (fetcher) => {
    assertEquals(await fill(fetcher, record), data);
  });
  assertEquals(fromLiar.length, 1, `asked the liar ${fromLiar.length} times`);
  assertEquals(fromWhole.length, record.chunks.length);
});

Deno.test("ChunkFetcher gives up on a partial holder that never answers", async () => {
  const data = noise(600 << 10, 33);
  const record = recordOf(data);
  const fromWhole: number[] = [];
  let pending = 0;
  const silent: ChunkSource = {
    key: "mallory",
    open: true,
    load: 0,
    holds: () => true,
    request(_p, _h, _o, _l, signal) {
      pending++;
      // Never answers: only the deadline the fetcher sets ends the wait.
      return new Promise((_, reject) => {
        assert(signal !== undefined, "a partial holder gets a deadline");
        signal.addEventListener("abort", () => reject(signal.reason), {
          once: true,
        });
      });
    },
  };
  const whole = source("alpha", data, fromWhole, "serve", undefined, 1 << 20);
  // The deadline is 10 s by default; a test does not wait that long.
  await withFetcher([whole, silent], async (fetcher) => {
    assertEquals(await fill(fetcher, record), data);
  }, 50);
  assertEquals(pending, 1);
  assertEquals(fromWhole.length, record.chunks.length);
});
