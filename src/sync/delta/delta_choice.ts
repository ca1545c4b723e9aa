/**
 * Whether to ask a changed chunk as a block delta or whole: a pure
 * decider, table-tested.
 * @module
 */

import { DELTA_BLOCK_SIZE } from "../../protocol/mod.ts";

/** What the fetcher knows when it is about to ask a peer for a chunk. */
export interface DeltaSituation {
  /** The peer's hello set `blockDeltas`. */
  readonly peerTakesBlocks: boolean;
  /** The `.part` is a copy of the old version (its bytes there are old content). */
  readonly partIsCopy: boolean;
  /** Bytes of the old version at or after the chunk's offset. */
  readonly oldBytesFrom: number;
  /** The chunk's length. */
  readonly length: number;
}

/**
 * Blocks are asked for only where there are old bytes over the whole
 * chunk to compare with (a `.part` copied from the old version, long
 * enough), from a peer that serves them, for a chunk of at least two
 * blocks (one block saves nothing over the whole chunk, and costs a
 * signature).
 */
export function askAsBlocks(s: DeltaSituation): boolean {
  return s.peerTakesBlocks && s.partIsCopy &&
    s.length >= 2 * DELTA_BLOCK_SIZE && s.oldBytesFrom >= s.length;
}
