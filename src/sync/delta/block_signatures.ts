/**
 * Block signatures of a chunk's bytes (see `BlockRequest` in
 * docs/PROTOCOL.md): the bytes cut into `DELTA_BLOCK_SIZE` blocks (the last
 * one shorter), each signed by the first `BLOCK_SIGNATURE_SIZE` bytes of
 * its BLAKE3. Both ends compute them the same way: the asker over the old
 * bytes it holds, the source over the chunk it serves. A signature is a
 * hint only (the assembled chunk is verified whole), so a truncated hash
 * will do.
 * @module
 */

import { blake3 } from "../../index/mod.ts";
import {
  BLOCK_SIGNATURE_SIZE,
  blocksOf,
  DELTA_BLOCK_SIZE,
} from "../../protocol/mod.ts";

/** The signatures of `bytes`, `BLOCK_SIGNATURE_SIZE` bytes per block. */
export function blockSignatures(bytes: Uint8Array): Uint8Array {
  const blocks = blocksOf(bytes.length);
  const out = new Uint8Array(blocks * BLOCK_SIGNATURE_SIZE);
  for (let i = 0; i < blocks; i++) {
    const at = i * DELTA_BLOCK_SIZE;
    const digest = blake3(
      bytes.subarray(at, Math.min(at + DELTA_BLOCK_SIZE, bytes.length)),
    );
    out.set(
      digest.subarray(0, BLOCK_SIGNATURE_SIZE),
      i * BLOCK_SIGNATURE_SIZE,
    );
  }
  return out;
}
