/**
 * The chunk fetcher's block deltas: over a part copied from the old
 * version, changed chunks come from a peer that takes block requests as
 * blocks; blocks that do not assemble (a lying source, a signature that
 * collides) fall back to the whole chunk; old bytes changed locally after
 * the copy still give the right file; a peer without the flag, or a part
 * that is not a copy, gets whole chunk requests only.
 */
import { assert, assertEquals } from "../../assert.ts";
import { noise } from "../../_noise.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import {
  EMPTY_VERSION,
  type FileRecord,
  IndexStore,
  toHex,
} from "../../../src/index/mod.ts";
import {
  ChunkFetcher,
  type ChunkSink,
  type ChunkSource,
} from "../../../src/sync/pull/chunk_fetcher.ts";
import { LocalChunkIndex } from "../../../src/sync/pull/chunk_source.ts";
import {
  assembleVerified,
  blockSignatures,
  diffBlocks,
} from "../../../src/sync/delta/mod.ts";

const MiB = 1 << 20;

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

/** A part copied from `old` (unless `copy` is false), filled into `out`. */
function copiedPart(
  old: Uint8Array,
  out: Uint8Array,
  copy = true,
): ChunkSink {
  const part = old.slice();
  const kept = new Set(
    digestBytes(old).chunks.map((c) =>
      `${c.offset}:${c.length}:${toHex(c.hash)}`
    ),
  );
  const next = new Map<number, string>();
  return {
    write: (offset, bytes) => {
      part.set(bytes, offset);
      out.set(bytes, offset);
      return Promise.resolve();
    },
    keep: (offset, length) => {
      out.set(part.subarray(offset, offset + length), offset);
      return Promise.resolve();
    },
    ...(copy
      ? {
        copiedBytes: old.length,
        readBack: (offset: number, length: number) =>
          Promise.resolve(part.slice(offset, offset + length)),
        inPlace: (offset: number, length: number) =>
          kept.has(`${offset}:${length}:${next.get(offset)}`),
      }
      : {}),
    // The chunk list of the new version, by offset (for inPlace).
    set newChunks(chunks: FileRecord["chunks"]) {
      for (const c of chunks) next.set(c.offset, toHex(c.hash));
    },
  } as ChunkSink;
}

interface Served {
  whole: number;
  blocks: number;
  blockBytes: number;
}

/** A source of `data`; with `blocks`, it answers block requests too, lying for the chunk at `lieAt`. */
function sourceOf(
  data: Uint8Array,
  served: Served,
  blocks: boolean,
  lieAt = -1,
): ChunkSource {
  return {
    key: "a",
    open: true,
    load: 0,
    request(_path, _hash, offset, length) {
      served.whole++;
      return Promise.resolve(data.slice(offset, offset + length));
    },
    ...(blocks
      ? {
        requestBlocks(path, hash, offset, base) {
          served.blocks++;
          const chunk = data.slice(offset, offset + base.length);
          const diff = diffBlocks(chunk, blockSignatures(base));
          if (offset === lieAt) diff.blocks.fill(0);
          served.blockBytes += diff.blocks.length;
          try {
            return Promise.resolve(
              assembleVerified(base, diff.bitmap, diff.blocks, hash, {
                path,
                offset,
              }),
            );
          } catch (err) {
            return Promise.reject(err);
          }
        },
      }
      : {}),
  };
}

async function pull(
  old: Uint8Array,
  next: Uint8Array,
  source: ChunkSource,
  copy = true,
): Promise<Uint8Array> {
  const folder = await Deno.makeTempDir({ prefix: "dsync-blocks-" });
  const store = IndexStore.open(folder);
  try {
    const record = recordOf(next);
    const out = new Uint8Array(next.length);
    const sink = copiedPart(old, out, copy);
    (sink as unknown as { newChunks: FileRecord["chunks"] }).newChunks =
      record.chunks;
    const fetcher = new ChunkFetcher({
      folder,
      chunkIndex: new LocalChunkIndex(store),
      peers: { sourcesFor: () => [source] },
    });
    await fetcher.fill(
      record,
      sink,
      MiB,
      new AbortController().signal,
      () => {},
    );
    return out;
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
}

/** 8 MiB, and a copy with 256 KiB overwritten at 3 MiB + 1000. */
function versions(): { old: Uint8Array; next: Uint8Array } {
  const old = noise(8 * MiB, 21);
  const next = old.slice();
  next.set(noise(256 << 10, 22), 3 * MiB + 1000);
  return { old, next };
}

Deno.test("ChunkFetcher asks the changed chunks over a copied part as blocks, and gets the file for about the bytes changed", async () => {
  const { old, next } = versions();
  const served: Served = { whole: 0, blocks: 0, blockBytes: 0 };
  const out = await pull(old, next, sourceOf(next, served, true));
  assertEquals(out, next);
  assertEquals(served.whole, 0);
  assert(served.blocks >= 3, `${served.blocks} chunks as blocks`);
  assert(
    served.blockBytes <= (256 << 10) + 2 * 4096 * served.blocks,
    `${served.blockBytes} bytes of blocks for 256 KiB changed`,
  );
});

Deno.test("ChunkFetcher asks for the whole chunk when its blocks do not assemble to its hash", async () => {
  const { old, next } = versions();
  const changed = recordOf(next).chunks.find((c) =>
    c.offset <= 3 * MiB + 1000 && c.offset + c.length > 3 * MiB + 1000
  )!;
  const served: Served = { whole: 0, blocks: 0, blockBytes: 0 };
  const out = await pull(
    old,
    next,
    sourceOf(next, served, true, changed.offset),
  );
  assertEquals(out, next);
  assertEquals(served.whole, 1, "the lied-about chunk, whole");
});

Deno.test("ChunkFetcher still gets the file when the part's old bytes were changed locally after the copy", async () => {
  const { old, next } = versions();
  // What the part holds: the old version with a run of other bytes where
  // the new version is unchanged, and inside the overwritten range.
  const part = old.slice();
  part.fill(7, 3 * MiB - 20_000, 3 * MiB + 30_000);
  const served: Served = { whole: 0, blocks: 0, blockBytes: 0 };
  const out = await pull(part, next, sourceOf(next, served, true));
  assertEquals(out, next);
  assert(served.blocks > 0, "no chunk asked as blocks");
});

Deno.test("ChunkFetcher asks a peer without block deltas, or over a part that is no copy, for whole chunks", async () => {
  const { old, next } = versions();
  for (
    const [what, blocks, copy] of [["no flag", false, true], [
      "no copy",
      true,
      false,
    ]] as const
  ) {
    const served: Served = { whole: 0, blocks: 0, blockBytes: 0 };
    const out = await pull(old, next, sourceOf(next, served, blocks), copy);
    assertEquals(out, next, what);
    assertEquals(served.blocks, 0, what);
    assert(served.whole > 0, what);
  }
});
