/**
 * A decoded record's long chunk list: the lengths in one typed array, the
 * hashes left in the message's bytes, and each chunk made when it is read
 * (its hash view only when that is read). An object and a view per chunk
 * made up most of the 60 MB a record at the 448K-chunk cap took to decode
 * (issue #19 point 5), and checking each hash's length made one more view;
 * the decoder read every hash from one region, so their lengths are known.
 * @module
 */

import { HASH_SIZE } from "./limits.ts";
import { lazyArray } from "./lazy_array.ts";
import type { WireChunk } from "./messages.ts";

/** Records of more chunks than this decode to {@linkcode DecodedChunk}s. */
export const PACKED_CHUNKS_FROM = 1024;

/** A decoded record's chunk: its length, and its hash in the message's bytes. */
export class DecodedChunk implements WireChunk {
  readonly length: number;
  readonly #hashes: Uint8Array;
  readonly #at: number;

  constructor(length: number, hashes: Uint8Array, at: number) {
    this.length = length;
    this.#hashes = hashes;
    this.#at = at;
  }

  /** Copies the hash into `out` at `at`, without making a view of it. */
  copyHash(out: Uint8Array, at: number): void {
    const from = this.#at;
    for (let b = 0; b < HASH_SIZE; b++) out[at + b] = this.#hashes[from + b]!;
  }

  get hash(): Uint8Array {
    return this.#hashes.subarray(this.#at, this.#at + HASH_SIZE);
  }
}

/** A read-only array of `lengths.length` chunks; see the module comment. */
export function decodedChunkList(
  lengths: Uint32Array,
  hashes: Uint8Array,
): WireChunk[] {
  return lazyArray(
    lengths.length,
    (index) => new DecodedChunk(lengths[index]!, hashes, index * HASH_SIZE),
  );
}
