/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016; ToS 2020),
 * normalized chunking level 2, with a 32-bit gear hash.
 *
 * Part of the dsync format (peers must cut identically, or chunk reuse is
 * lost). The format is:
 * - `GEAR[i]` (i = 0..255) is the little-endian u32 at bytes `4i..4i+4` of
 *   the 1024-byte BLAKE3 XOF output of the ASCII string `"dsync/1 fastcdc gear"`.
 * - Within a chunk, bytes at positions `< MIN_CHUNK` are skipped. From
 *   position `MIN_CHUNK` on, each byte `b` updates
 *   `h = (h << 1) + GEAR[b]` (mod 2^32, h = 0 at `MIN_CHUNK`), and the chunk
 *   ends *before* the byte at position `p` when `h & mask == 0`, with
 *   `mask = MASK_S` (18 bits) for `p < AVG_CHUNK` and `MASK_L` (14 bits) after.
 *   A chunk is cut at `MAX_CHUNK` bytes if no such byte comes first, and the
 *   last chunk is whatever remains.
 *
 * `nextCut` is the whole-buffer cutter; `Chunker` takes a stream in blocks of
 * any size and keeps only `(position, h)` between them.
 * @module
 */

import { blake3 } from "./hash.ts";

/** Smallest chunk, except for the last chunk of a file. */
export const MIN_CHUNK = 16 * 1024;
/** Target average chunk size; the mask switches from `MASK_S` to `MASK_L` there. */
export const AVG_CHUNK = 64 * 1024;
/** Largest chunk. */
export const MAX_CHUNK = 256 * 1024;
/** 18 one-bits (log2(AVG_CHUNK) + 2): the harder test, before AVG_CHUNK. */
export const MASK_S = 0xffffc000 | 0;
/** 14 one-bits (log2(AVG_CHUNK) - 2), a subset of MASK_S: the easier test, after. */
export const MASK_L = 0xfffc0000 | 0;

/** The gear table (see the module comment); treat as read-only. */
export const GEAR: Int32Array = (() => {
  const xof = blake3(new TextEncoder().encode("dsync/1 fastcdc gear"), 1024);
  const view = new DataView(xof.buffer, xof.byteOffset, xof.byteLength);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = view.getInt32(4 * i, true);
  return table;
})();

// Rolling hash carried out of `scan` (avoids allocating a result pair).
let scanHash = 0;

/**
 * Rolls `h` over `data[i..stop)` and returns the index of the first byte after
 * which `h & mask` is zero, or `stop`. The final hash is left in `scanHash`.
 */
function scan(
  data: Uint8Array,
  i: number,
  stop: number,
  h: number,
  mask: number,
): number {
  const gear = GEAR;
  // Two bytes per iteration; the mask is tested after each byte.
  const stop2 = stop - 1;
  for (; i < stop2; i += 2) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) {
      scanHash = h;
      return i;
    }
    h = ((h << 1) + gear[data[i + 1]!]!) | 0;
    if ((h & mask) === 0) {
      scanHash = h;
      return i + 1;
    }
  }
  if (i < stop) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) {
      scanHash = h;
      return i;
    }
    i++;
  }
  scanHash = h;
  return i;
}

/**
 * Length of the chunk that starts at `data[start]`, looking at `data[start..end)`.
 * With `final` (no data follows `end`), always returns the cut (the rest if no
 * cut is found; 0 only for an empty range). Without it, returns 0 when the
 * cut cannot be decided without more data.
 */
export function nextCut(
  data: Uint8Array,
  start = 0,
  end: number = data.length,
  final = true,
): number {
  const avail = end - start;
  if (avail <= MIN_CHUNK) return final ? Math.max(0, avail) : 0;
  const normalEnd = start + Math.min(AVG_CHUNK, avail);
  let j = scan(data, start + MIN_CHUNK, normalEnd, 0, MASK_S);
  if (j < normalEnd) return j - start;
  if (avail > AVG_CHUNK) {
    const maxEnd = start + Math.min(MAX_CHUNK, avail);
    j = scan(data, j, maxEnd, scanHash, MASK_L);
    if (j < maxEnd) return j - start;
  }
  if (avail >= MAX_CHUNK) return MAX_CHUNK;
  return final ? avail : 0;
}

/**
 * Streaming FastCDC: feed blocks of any size with `push`, then call `finish`.
 * Gives the same cuts as repeated `nextCut` over the concatenated input.
 */
export class Chunker {
  #pos = 0; // bytes of the current chunk seen so far
  #h = 0;

  /** Bytes of the current, unfinished chunk. */
  get pending(): number {
    return this.#pos;
  }

  /**
   * Consumes `block` and returns the lengths of the chunks that end in it, in
   * order (the first may have started in an earlier block).
   */
  push(block: Uint8Array): number[] {
    const cuts: number[] = [];
    const n = block.length;
    let i = 0;
    let pos = this.#pos;
    let h = this.#h;
    while (i < n) {
      if (pos < MIN_CHUNK) {
        const skip = Math.min(MIN_CHUNK - pos, n - i);
        pos += skip;
        i += skip;
        if (pos < MIN_CHUNK) break;
        h = 0;
      }
      const mask = pos < AVG_CHUNK ? MASK_S : MASK_L;
      const limit = pos < AVG_CHUNK ? AVG_CHUNK : MAX_CHUNK;
      const stop = Math.min(n, i + (limit - pos));
      const j = scan(block, i, stop, h, mask);
      h = scanHash;
      pos += j - i;
      i = j;
      if (j < stop) {
        cuts.push(pos);
        pos = 0;
      } else if (pos === MAX_CHUNK) {
        cuts.push(pos);
        pos = 0;
      }
    }
    this.#pos = pos;
    this.#h = h;
    return cuts;
  }

  /** Returns the length of the last chunk (0 if none) and resets for a new stream. */
  finish(): number {
    const last = this.#pos;
    this.#pos = 0;
    this.#h = 0;
    return last;
  }
}
