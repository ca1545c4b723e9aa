/**
 * Which bytes of a `.part` were written (or kept), as merged ranges: the
 * chunk fetcher writes verified chunks in any order (each receiver its own
 * order, several peers at once), and a part whose writes covered the whole
 * file exactly once, each starting and ending at chunk boundaries, holds
 * the whole file verified, so the commit need not read it back and hash
 * it again. Writes over each other, or not at chunk boundaries, make it
 * read back. A few ranges per segment being filled at most.
 * @module
 */

/** Written ranges of one part; see the module comment. */
export class WrittenRanges {
  /** Sorted, disjoint, non-adjacent: start, end, start, end … */
  readonly #edges: number[] = [];
  /** Chunk boundaries of the target, increasing (0 and the size included). */
  readonly #bounds: Float64Array;
  #untrusted = false;

  constructor(chunks: readonly { readonly length: number }[]) {
    this.#bounds = new Float64Array(chunks.length + 1);
    for (let i = 0; i < chunks.length; i++) {
      this.#bounds[i + 1] = this.#bounds[i]! + chunks[i]!.length;
    }
  }

  /** `[offset, offset + length)` was written. */
  add(offset: number, length: number): void {
    if (length <= 0) return;
    const end = offset + length;
    if (!this.#isBound(offset) || !this.#isBound(end)) this.#untrusted = true;
    const e = this.#edges;
    // First range whose end reaches `offset` (it may touch or overlap).
    let lo = 0;
    let hi = e.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid * 2 + 1]! < offset) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    let start = offset;
    let stop = end;
    while (last < e.length / 2 && e[last * 2]! <= end) {
      const s = e[last * 2]!;
      const t = e[last * 2 + 1]!;
      if (s < end && t > offset) this.#untrusted = true;
      start = Math.min(start, s);
      stop = Math.max(stop, t);
      last++;
    }
    e.splice(lo * 2, (last - lo) * 2, start, stop);
  }

  /**
   * True when the writes covered `[0, size)` once, none over another,
   * each at chunk boundaries.
   */
  coverOnce(size: number): boolean {
    if (this.#untrusted) return false;
    if (size === 0) return this.#edges.length === 0;
    return this.#edges.length === 2 && this.#edges[0] === 0 &&
      this.#edges[1] === size;
  }

  #isBound(at: number): boolean {
    const b = this.#bounds;
    let lo = 0;
    let hi = b.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid]! < at) lo = mid + 1;
      else if (b[mid]! > at) hi = mid - 1;
      else return true;
    }
    return false;
  }
}
