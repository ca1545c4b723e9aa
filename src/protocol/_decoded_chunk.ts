/**
 * A chunk of a decoded record with a long chunk list: its length, and its
 * hash left in the message's bytes (a view is made only when read). A
 * view per chunk made up most of the 60 MB a record at the 448K-chunk cap
 * took to decode (issue #19 point 5), and checking each hash's length
 * made one more; the decoder read every hash from one 32-byte-aligned
 * region, so their lengths are known.
 * @module
 */

import { HASH_SIZE } from "./limits.ts";
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
