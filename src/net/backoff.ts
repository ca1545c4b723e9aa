/**
 * Exponential back-off with full jitter: the n-th retry waits a uniformly
 * random time in [0, min(maxMs, baseMs * factor^n)). Jitter spreads the
 * reconnects of many peers that lost the same node at the same moment.
 */

/** Back-off parameters. */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  maxMs: number;
  /** Growth per attempt; 2 by default. */
  factor?: number;
  /** Uniform random in [0, 1); injected for tests. */
  random?: () => number;
}

/** Default schedule for reconnecting to a known peer. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** Delay ceiling for attempt `attempt` (0-based), before jitter. */
export function backoffCeiling(
  attempt: number,
  options: BackoffOptions,
): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(
      `Back-off attempt must be a non-negative integer, got ${attempt}`,
    );
  }
  const factor = options.factor ?? 2;
  if (!(options.baseMs >= 0) || !(options.maxMs >= options.baseMs)) {
    throw new RangeError(
      `Back-off needs 0 <= baseMs <= maxMs, got ${options.baseMs} and ${options.maxMs}`,
    );
  }
  if (!(factor >= 1)) {
    throw new RangeError(`Back-off factor must be >= 1, got ${factor}`);
  }
  // Math.pow overflows to Infinity for large attempts; min() clamps it.
  return Math.min(options.maxMs, options.baseMs * Math.pow(factor, attempt));
}

/** Full-jitter delay for attempt `attempt` (0-based), in whole ms. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`Back-off random() must be in [0, 1), got ${r}`);
  }
  return Math.floor(r * backoffCeiling(attempt, options));
}

/** Stateful counter over `backoffDelay`: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions = DEFAULT_BACKOFF) {
    backoffCeiling(0, options);
    this.#options = options;
  }

  /** Exponent of the next delay: failures since the last reset, capped at the ceiling. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Delay before the next try; advances the attempt counter. */
  next(): number {
    const delay = backoffDelay(this.#attempt, this.#options);
    // Stop counting once the ceiling is reached so the exponent stays small.
    if (backoffCeiling(this.#attempt, this.#options) < this.#options.maxMs) {
      this.#attempt++;
    }
    return delay;
  }

  /** Back to the first delay. */
  reset(): void {
    this.#attempt = 0;
  }
}
