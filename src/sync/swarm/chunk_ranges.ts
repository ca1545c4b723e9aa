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

/**
 * Where a pull that fills its file in order (wrapping around at the end)
 * should start, given which chunks peers pulling the same version hold
 * (`held`, a byte per chunk): in the middle of the longest circular run of
 * chunks none holds, as far from their frontiers as it gets, so what it
 * fetches first is what nobody has. A random chunk (`random` in [0, 1))
 * when none or all are held.
 */
export function spreadStart(held: Uint8Array, random: () => number): number {
  const n = held.length;
  if (n === 0) return 0;
  let first = held.indexOf(1);
  if (first < 0 || !held.includes(0)) return Math.floor(random() * n) % n;
  // Walk the circle once from a held chunk, measuring each free run.
  let bestStart = 0;
  let bestLength = 0;
  let runStart = -1;
  for (let step = 1; step <= n; step++) {
    const i = (first + step) % n;
    if (held[i] === 0) {
      if (runStart < 0) runStart = step;
      const length = step - runStart + 1;
      if (length > bestLength) {
        bestLength = length;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  first = (first + bestStart + Math.floor(bestLength / 2)) % n;
  return first;
}
