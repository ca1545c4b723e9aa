/**
 * A changed chunk asked for as a block delta (`../delta/mod.ts`) when the
 * `.part` holds old bytes over its whole range (a copy of the old version)
 * and the source answers block requests: the old bytes are read back and
 * signed, and only the blocks that differ travel. Anything short of a
 * verified chunk (the blocks did not assemble to its hash, too many block
 * requests in flight, the old bytes could not be read) gives undefined,
 * and the caller asks for the whole chunk; a source's refusal or
 * disconnection fails as a chunk request would. Only peers holding the
 * whole file are asked (a partial holder's deadline stays with `#ask`).
 * @module
 */

import {
  askAsBlocks,
  BlockDeltaMismatchError,
  BlockShapeError,
} from "../delta/mod.ts";
import { BlockRequestsBusyError } from "../session/mod.ts";
import type { ChunkSink, ChunkSource } from "./chunk_ports.ts";
import type { SourceStalls } from "./source_stalls.ts";
import { answeredWith } from "./source_stalls.ts";

/** The chunk to fetch: its place in the file and its hash. */
interface ChunkPlace {
  readonly hash: Uint8Array;
  readonly offset: number;
  readonly length: number;
}

/** Where a fetcher counts the chunk bytes it got from peers. */
export interface FetchCounts {
  fetchedBytes: number;
}

/** Block deltas for one chunk fetcher: its stall watch and its counts. */
export class BlockFetch {
  readonly #stalls: SourceStalls;
  readonly #counts: FetchCounts;

  constructor(stalls: SourceStalls, counts: FetchCounts) {
    this.#stalls = stalls;
    this.#counts = counts;
  }

  /**
   * The chunk `chunk` of `path` from `source`: as a block delta over the
   * bytes `sink` holds there when that applies (verified, and counted as
   * fetched), else, or when the blocks did not give the chunk, by `whole`.
   * `whole` is called at once when blocks do not apply: a fetcher's
   * request is then counted in the source's load before it picks the next
   * chunk.
   */
  fetch(
    source: ChunkSource,
    path: string,
    chunk: ChunkPlace,
    sink: ChunkSink,
    whole: () => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    if (!appliesTo(source, chunk, sink)) return whole();
    return fetchAsBlocks(source, path, chunk, sink, this.#stalls).then(
      (data) => {
        if (data === undefined) return whole();
        this.#counts.fetchedBytes += data.length;
        return data;
      },
    );
  }
}

/** Whether `chunk` is asked of `source` as blocks over what `sink` holds. */
function appliesTo(
  source: ChunkSource,
  chunk: ChunkPlace,
  sink: ChunkSink,
): boolean {
  const copied = sink.copiedBytes ?? 0;
  // A partial holder is asked whole: its deadline stays with the fetcher.
  return source.holds === undefined && askAsBlocks({
    peerTakesBlocks: source.requestBlocks !== undefined,
    partIsCopy: copied > 0 && sink.readBack !== undefined,
    oldBytesFrom: Math.max(0, copied - chunk.offset),
    length: chunk.length,
  });
}

/**
 * The chunk `chunk` of `path` from `source` as a block delta over the
 * bytes `sink` holds there, verified; undefined when blocks were not
 * asked for or did not give the chunk (ask whole). Rejects as
 * `ChunkSource.request` does when the source cannot serve it.
 */
async function fetchAsBlocks(
  source: ChunkSource,
  path: string,
  chunk: ChunkPlace,
  sink: ChunkSink,
  stalls: SourceStalls,
): Promise<Uint8Array | undefined> {
  if (!appliesTo(source, chunk, sink)) return undefined;
  const base = await sink.readBack!(chunk.offset, chunk.length);
  if (base === undefined) return undefined;
  stalls.sent(source.key, source.label);
  try {
    const data = await source.requestBlocks!(
      path,
      chunk.hash,
      chunk.offset,
      base,
    );
    stalls.answered(source.key);
    return data;
  } catch (err) {
    if (
      err instanceof BlockDeltaMismatchError || err instanceof BlockShapeError
    ) {
      stalls.answered(source.key);
      return undefined;
    }
    if (err instanceof BlockRequestsBusyError) {
      stalls.dropped(source.key);
      return undefined;
    }
    if (answeredWith(err)) stalls.answered(source.key);
    else stalls.dropped(source.key);
    throw err;
  }
}
