/**
 * What one connected peer said it holds of files it is still receiving
 * (its `Availability` messages), kept for the length of its connection.
 * A claim is a hint for choosing where to ask, never trusted for content:
 * every chunk is still checked against its hash, and a claim that proved
 * false is ignored for the rest of that pull (see `source_choice.ts`).
 * Bounded per peer in paths and in ranges (kept as pairs of 32-bit
 * integers: at most 128 KiB a peer), so a peer announcing endless paths or
 * fragmented claims cannot grow it.
 * @module
 */

import { sameBytes } from "../../index/mod.ts";
import type { Availability } from "../../protocol/mod.ts";

/** Paths whose claims are kept per peer; a new one replaces the oldest. */
export const MAX_CLAIMED_FILES = 64;
/** Ranges kept per peer over all its claims; the oldest claims go first. */
export const MAX_CLAIMED_RANGES = 16_384;

interface Claim {
  readonly hash: Uint8Array;
  /** start, count, start, count … (sorted, disjoint). */
  readonly ranges: Uint32Array;
}

/** Whether the pairs of `ranges` name `index` (binary search). */
function pairsHold(ranges: Uint32Array, index: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const start = ranges[mid * 2]!;
    if (index < start) hi = mid - 1;
    else if (index >= start + ranges[mid * 2 + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** One peer's claims, by path. */
export class PeerClaims {
  readonly #byPath = new Map<string, Claim>();
  readonly #max: number;
  readonly #maxRanges: number;
  #ranges = 0;

  constructor(max = MAX_CLAIMED_FILES, maxRanges = MAX_CLAIMED_RANGES) {
    this.#max = Math.max(1, max);
    this.#maxRanges = Math.max(1, maxRanges);
  }

  /** Paths with a claim. */
  get size(): number {
    return this.#byPath.size;
  }

  /**
   * Takes an `Availability` (already checked by the codec): it replaces
   * the path's claim; one with no ranges withdraws it.
   */
  take(msg: Availability): void {
    this.#forget(msg.path);
    if (msg.ranges.length === 0) return;
    // The decoder's fields are views into the whole message: copy.
    const ranges = new Uint32Array(
      Math.min(msg.ranges.length, this.#maxRanges) * 2,
    );
    for (let i = 0; i < ranges.length / 2; i++) {
      ranges[i * 2] = msg.ranges[i]!.start;
      ranges[i * 2 + 1] = msg.ranges[i]!.count;
    }
    this.#byPath.set(msg.path, { hash: msg.hash.slice(), ranges });
    this.#ranges += ranges.length / 2;
    for (const oldest of this.#byPath.keys()) {
      if (this.#byPath.size <= this.#max && this.#ranges <= this.#maxRanges) {
        break;
      }
      this.#forget(oldest);
    }
  }

  #forget(path: string): void {
    const claim = this.#byPath.get(path);
    if (claim === undefined) return;
    this.#byPath.delete(path);
    this.#ranges -= claim.ranges.length / 2;
  }

  /** Whether the peer claims some chunks of `path` in the version `hash`. */
  claims(path: string, hash: Uint8Array): boolean {
    const claim = this.#byPath.get(path);
    return claim !== undefined && sameBytes(claim.hash, hash);
  }

  /** Whether the peer claims chunk `index` of `path` in the version `hash`. */
  holds(path: string, hash: Uint8Array, index: number): boolean {
    const claim = this.#byPath.get(path);
    return claim !== undefined && sameBytes(claim.hash, hash) &&
      pairsHold(claim.ranges, index);
  }
}
