/**
 * Seeded randomness for the chaos suite: every choice of a run (operations,
 * peers, sizes, faults) comes from here, so one seed replays the same run.
 * mulberry32: tiny, fast, good enough spread for picking things; not for
 * cryptography.
 * @module
 */

/** A reproducible stream of pseudo-random numbers. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(
        `Cannot seed with ${seed}: expected an integer in 0..4294967295`,
      );
    }
    this.#state = seed >>> 0;
  }

  /** The next word, 0..2^32-1. */
  nextU32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in `min..max` (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One of `items`; throws on an empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from nothing");
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** A key of `weights`, chosen in proportion to its (non-negative) weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + Math.max(0, w), 0);
    if (total <= 0) throw new RangeError("Cannot pick: every weight is 0");
    let at = this.float() * total;
    for (const [key, weight] of entries) {
      at -= Math.max(0, weight);
      if (at < 0) return key;
    }
    return entries.findLast(([, w]) => w > 0)![0];
  }

  /** An independent stream for another purpose, derived from this seed. */
  fork(label: number): Rng {
    return new Rng((this.nextU32() ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
  }
}
