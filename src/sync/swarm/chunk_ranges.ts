/**
 * Sets of chunk indexes as the wire carries them: sorted, disjoint,
 * non-adjacent ranges (`Availability.ranges`). Pure functions, so what a
 * sender announces and what a receiver believes are table-tested apart
 * from any I/O.
 * @module
 */

import type { ChunkRange } from "../../protocol/mod.ts";

/**
 * The ranges of the indexes whose byte in `held` is non-zero, at most
 * `limit` of them (the first ones: announcing fewer chunks than held is
 * always safe).
 */
export function rangesOf(held: Uint8Array, limit: number): ChunkRange[] {
  const out: ChunkRange[] = [];
  let i = 0;
  while (i < held.length && out.length < limit) {
    while (i < held.length && held[i] === 0) i++;
    if (i === held.length) break;
    const start = i;
    while (i < held.length && held[i] !== 0) i++;
    out.push({ start, count: i - start });
  }
  return out;
}

/** Whether `ranges` (sorted and disjoint) name `index`. */
export function rangesHold(
  ranges: readonly ChunkRange[],
  index: number,
): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid]!;
    if (index < r.start) hi = mid - 1;
    else if (index >= r.start + r.count) lo = mid + 1;
    else return true;
  }
  return false;
}

/** How many indexes `ranges` name. */
export function rangesSize(ranges: readonly ChunkRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.count;
  return n;
}
