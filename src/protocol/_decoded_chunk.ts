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

/** A canonical array index below `count`, or -1. */
function indexOf(key: string | symbol, count: number): number {
  if (typeof key !== "string" || key.length === 0 || key.length > 15) return -1;
  const code = key.charCodeAt(0);
  if (code < 48 || code > 57 || (code === 48 && key.length > 1)) return -1;
  const index = Number(key);
  return Number.isInteger(index) && index < count ? index : -1;
}

/** A read-only array of `lengths.length` chunks; see the module comment. */
export function decodedChunkList(
  lengths: Uint32Array,
  hashes: Uint8Array,
): WireChunk[] {
  const count = lengths.length;
  return new Proxy([] as WireChunk[], {
    get(t, key, receiver) {
      if (key === "length") return count;
      const index = indexOf(key, count);
      if (index < 0) return Reflect.get(t, key, receiver);
      return new DecodedChunk(lengths[index]!, hashes, index * HASH_SIZE);
    },
    has(t, key) {
      return key === "length" || indexOf(key, count) >= 0 ||
        Reflect.has(t, key);
    },
    set() {
      return false;
    },
  });
}
