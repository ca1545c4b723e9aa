/**
 * The source's side of a block delta: which blocks of the chunk it serves
 * differ from the asker's signatures, as a bitmap (bit `i % 8` of byte
 * `i / 8` for block `i`) and those blocks in order. Pure.
 * @module
 */

import {
  BLOCK_SIGNATURE_SIZE,
  blocksOf,
  DELTA_BLOCK_SIZE,
} from "../../protocol/mod.ts";
import { blockSignatures } from "./block_signatures.ts";

/** The blocks of a chunk that differ from the asker's. */
export interface BlockDiff {
  /** One bit per block, `ceil(blocks / 8)` bytes; set: the block is in `blocks`. */
  readonly bitmap: Uint8Array;
  /** The differing blocks, concatenated in order. */
  readonly blocks: Uint8Array;
}

/**
 * Compares `chunk` block by block with `signatures` (the asker's, one per
 * block of the chunk's length: the codec holds a request to that). Throws
 * `RangeError` when the counts disagree.
 */
export function diffBlocks(
  chunk: Uint8Array,
  signatures: Uint8Array,
): BlockDiff {
  const count = blocksOf(chunk.length);
  if (signatures.length !== count * BLOCK_SIGNATURE_SIZE) {
    throw new RangeError(
      `Cannot compare ${count} blocks with ${signatures.length} bytes of signatures`,
    );
  }
  const ours = blockSignatures(chunk);
  const bitmap = new Uint8Array(Math.ceil(count / 8));
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    if (sameSignature(ours, signatures, i)) continue;
    bitmap[i >> 3]! |= 1 << (i & 7);
    bytes += blockLength(chunk.length, i);
  }
  const blocks = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) continue;
    const from = i * DELTA_BLOCK_SIZE;
    const length = blockLength(chunk.length, i);
    blocks.set(chunk.subarray(from, from + length), at);
    at += length;
  }
  return { bitmap, blocks };
}

/** Length of block `i` of a chunk of `length` bytes. */
export function blockLength(length: number, i: number): number {
  return Math.min(DELTA_BLOCK_SIZE, length - i * DELTA_BLOCK_SIZE);
}

function sameSignature(a: Uint8Array, b: Uint8Array, i: number): boolean {
  const at = i * BLOCK_SIGNATURE_SIZE;
  for (let k = at; k < at + BLOCK_SIGNATURE_SIZE; k++) {
    if (a[k] !== b[k]) return false;
  }
  return true;
}
