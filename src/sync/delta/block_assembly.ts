/**
 * The asker's side of a block delta: the chunk rebuilt from its old bytes
 * and the blocks the source sent, then checked whole against the chunk's
 * BLAKE3. Signatures only hinted which blocks were the same (a truncated
 * hash may collide, the old bytes may have changed since they were
 * signed, the source may lie), so nothing assembled is used unverified:
 * a mismatch is {@linkcode BlockDeltaMismatchError}, and the caller asks
 * for the whole chunk instead.
 * @module
 */

import { blake3, sameBytes } from "../../index/mod.ts";
import { blocksOf, DELTA_BLOCK_SIZE } from "../../protocol/mod.ts";
import { blockLength } from "./block_diff.ts";

/** The chunk assembled from a block delta does not hash as asked. */
export class BlockDeltaMismatchError extends Error {
  constructor(path: string, offset: number) {
    super(
      `Chunk "${path}"@${offset} assembled from changed blocks does not have the requested BLAKE3`,
    );
    this.name = "BlockDeltaMismatchError";
  }
}

/** The blocks sent do not fit the old bytes (their bitmap or total length). */
export class BlockShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlockShapeError";
  }
}

/**
 * `base` (the old bytes, as long as the chunk) with the blocks `bitmap`
 * marks replaced, in order, by `blocks`. Throws {@linkcode BlockShapeError}
 * when the bitmap's size, its bits past the last block, or the length of
 * `blocks` do not fit `base`.
 */
export function assembleBlocks(
  base: Uint8Array,
  bitmap: Uint8Array,
  blocks: Uint8Array,
): Uint8Array {
  const count = blocksOf(base.length);
  if (bitmap.length !== Math.ceil(count / 8)) {
    throw new BlockShapeError(
      `A bitmap of ${bitmap.length} bytes does not fit ${count} blocks`,
    );
  }
  const out = base.slice();
  let at = 0;
  for (let i = 0; i < bitmap.length * 8; i++) {
    if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) continue;
    if (i >= count) {
      throw new BlockShapeError(`Bitmap marks block ${i} of ${count}`);
    }
    const length = blockLength(base.length, i);
    if (at + length > blocks.length) {
      throw new BlockShapeError(
        `Blocks of ${blocks.length} bytes end inside block ${i}`,
      );
    }
    out.set(blocks.subarray(at, at + length), i * DELTA_BLOCK_SIZE);
    at += length;
  }
  if (at !== blocks.length) {
    throw new BlockShapeError(
      `${blocks.length - at} bytes of blocks left over after the marked blocks`,
    );
  }
  return out;
}

/**
 * {@linkcode assembleBlocks}, checked against `hash`: throws
 * {@linkcode BlockDeltaMismatchError} unless the result hashes to it.
 */
export function assembleVerified(
  base: Uint8Array,
  bitmap: Uint8Array,
  blocks: Uint8Array,
  hash: Uint8Array,
  where: { readonly path: string; readonly offset: number },
): Uint8Array {
  const chunk = assembleBlocks(base, bitmap, blocks);
  if (!sameBytes(blake3(chunk), hash)) {
    throw new BlockDeltaMismatchError(where.path, where.offset);
  }
  return chunk;
}
