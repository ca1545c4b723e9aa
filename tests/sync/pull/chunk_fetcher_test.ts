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
  SOURCE_REFRESH_MS,
} from "../../../src/sync/pull/chunk_fetcher.ts";
import { LocalChunkIndex } from "../../../src/sync/pull/chunk_source.ts";
import { BufferPool } from "../../../src/protocol/mod.ts";

/** A file record of `path` with `digest`'s size, hash and chunks. */
function fileRecordOf(
  path: string,
  digest: ReturnType<typeof digestBytes>,
): FileRecord {
  return {
    path,
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

Deno.test("ChunkFetcher takes in a peer that announces the file after the pull started", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-fetch-" });
  const store = IndexStore.open(folder);
  try {
    const data = noise(2 << 20, 7);
    const digest = digestBytes(data);
    assert(digest.chunks.length >= 8, `${digest.chunks.length} chunks`);
    const record = fileRecordOf("big.bin", digest);
    let clock = 0;
    const served = { a: 0, b: 0 };
    const source = (key: "a" | "b"): ChunkSource => ({
      key,
      open: true,
      load: 0,
      request(_path, _hash, offset, length) {
        served[key]++;
        clock += SOURCE_REFRESH_MS / 2; // time passes while chunks arrive
        return Promise.resolve(data.slice(offset, offset + length));
      },
    });
    const a = source("a");
    const b = source("b");
    let lookups = 0;
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      // beta announces the file only after the first lookup.
      peers: { sourcesFor: () => lookups++ === 0 ? [a] : [b, a] },
      now: () => clock,
    });
    const out = new Uint8Array(data.length);
    await fetcher.fill(
      record,
      {
        write: (offset, bytes) => Promise.resolve(void out.set(bytes, offset)),
      },
      1,
      new AbortController().signal,
      () => {},
    );
    assertEquals(out, data);
    assert(lookups >= 2, `looked up ${lookups} times`);
    assert(served.a > 0 && served.b > 0, `served ${JSON.stringify(served)}`);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ChunkFetcher.fill() keeps the chunks a resumed sink holds and fetches the rest", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-fetch-" });
  const store = IndexStore.open(folder);
  try {
    const data = noise(2 << 20, 9);
    const digest = digestBytes(data);
    const record = fileRecordOf("big.bin", digest);
    // The sink holds the first 1.5 MiB, with one chunk damaged.
    const held = data.slice(0, 3 << 19);
    const bad = digest.chunks[2]!;
    held[bad.offset + 1]! ^= 0xff;
    let fetched = 0;
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      peers: {
        sourcesFor: () => [{
          key: "a",
          open: true,
          load: 0,
          request(_path, _hash, offset, length) {
            fetched += length;
            return Promise.resolve(data.slice(offset, offset + length));
          },
        }],
      },
    });
    const out = new Uint8Array(data.length);
    const kept: number[] = [];
    await fetcher.fill(
      record,
      {
        resumable: held.length,
        readBack: (offset, length) =>
          Promise.resolve(
            offset + length <= held.length
              ? held.slice(offset, offset + length)
              : undefined,
          ),
        keep: (offset, length) => {
          kept.push(offset);
          out.set(held.subarray(offset, offset + length), offset);
          return Promise.resolve();
        },
        write: (offset, bytes) => Promise.resolve(void out.set(bytes, offset)),
      },
      1 << 20,
      new AbortController().signal,
      () => {},
    );
    assertEquals(out, data);
    assert(!kept.includes(bad.offset), "kept the damaged chunk");
    const whole = digest.chunks.filter((c) =>
      c.offset + c.length <= held.length && c !== bad
    );
    assertEquals(kept, whole.map((c) => c.offset));
    const keptBytes = whole.reduce((n, c) => n + c.length, 0);
    assertEquals(fetcher.resumedBytes, keptBytes);
    assertEquals(fetched, data.length - keptBytes);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ChunkFetcher.fill() gives each received chunk's buffer back once its bytes are copied", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-fetch-" });
  const store = IndexStore.open(folder);
  try {
    // 4 MiB: chunks wait to be written in blocks of 1 MiB, and their
    // buffers come back once a block is written.
    const data = noise(4 << 20, 11);
    const digest = digestBytes(data);
    const record = fileRecordOf("big.bin", digest);
    const pool = new BufferPool(8 << 20);
    const handedOut = new Set<ArrayBufferLike>();
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      messageBuffers: pool,
      peers: {
        sourcesFor: () => [{
          key: "a",
          open: true,
          load: 0,
          request(_path, _hash, offset, length) {
            // As a channel delivers it: the data inside a pooled message.
            const message = pool.take(length + 8);
            message.set(data.subarray(offset, offset + length), 8);
            handedOut.add(message.buffer);
            return Promise.resolve(message.subarray(8, 8 + length));
          },
        }],
      },
    });
    const out = new Uint8Array(data.length);
    await fetcher.fill(
      record,
      {
        write: (offset, bytes) => Promise.resolve(void out.set(bytes, offset)),
      },
      1,
      new AbortController().signal,
      () => {},
    );
    assertEquals(out, data);
    // Each block's buffers came back before the next block's requests, so
    // a block's worth of buffers served every chunk.
    assert(pool.keptBytes > 0);
    assert(
      handedOut.size < digest.chunks.length,
      `${handedOut.size} buffers for ${digest.chunks.length} chunks`,
    );
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});
