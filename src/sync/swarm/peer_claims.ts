/**
 * What one connected peer said it holds of files it is still receiving
 * (its `Availability` messages), kept for the length of its connection.
 * A claim is a hint for choosing where to ask, never trusted for content:
 * every chunk is still checked against its hash, and a claim that proved
 * false is ignored for the rest of that pull (see `source_choice.ts`).
 * Bounded per peer, so a peer announcing endless paths cannot grow it.
 * @module
 */

import { sameBytes } from "../../index/mod.ts";
import type { Availability, ChunkRange } from "../../protocol/mod.ts";
import { rangesHold } from "./chunk_ranges.ts";

/** Paths whose claims are kept per peer; a new one replaces the oldest. */
export const MAX_CLAIMED_FILES = 64;

interface Claim {
  readonly hash: Uint8Array;
  readonly ranges: readonly ChunkRange[];
}

/** One peer's claims, by path. */
export class PeerClaims {
  readonly #byPath = new Map<string, Claim>();
  readonly #max: number;

  constructor(max = MAX_CLAIMED_FILES) {
    this.#max = Math.max(1, max);
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
    this.#byPath.delete(msg.path);
    if (msg.ranges.length === 0) return;
    // The decoder's fields are views into the whole message: copy.
    this.#byPath.set(msg.path, {
      hash: msg.hash.slice(),
      ranges: msg.ranges.map((r) => ({ start: r.start, count: r.count })),
    });
    for (const oldest of this.#byPath.keys()) {
      if (this.#byPath.size <= this.#max) break;
      this.#byPath.delete(oldest);
    }
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
      rangesHold(claim.ranges, index);
  }
}
