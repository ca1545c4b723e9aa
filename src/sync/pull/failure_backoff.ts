/**
 * When to retry a path whose apply keeps failing for a reason only the
 * user can fix (permission denied, a read-only disk…), and whether to warn:
 * the first failure of an episode is a warning, the next ones are quiet and
 * come ever later (10 s doubling to 5 min), so one stuck file neither
 * floods the log nor keeps the disk busy. An episode ends when the path has
 * not failed for longer than the longest delay plus a margin (it was
 * applied meanwhile, or stopped being wanted).
 * @module
 */

/** Delays of {@linkcode FailureBackoff}. */
export interface FailureBackoffOptions {
  /** First retry delay, ms. */
  readonly firstMs?: number;
  /** Longest retry delay, ms. */
  readonly maxMs?: number;
}

/** What to do after a failure. */
export interface RetryPlan {
  /** Retry after this many ms. */
  readonly delayMs: number;
  /** The first failure of an episode: say so at warning level. */
  readonly warn: boolean;
  /** Failures in this episode so far, this one included. */
  readonly tries: number;
}

const PRUNE_ABOVE = 1000;

/** Back-off and warn-once per path. Pure apart from its memory; time is passed in. */
export class FailureBackoff {
  readonly #firstMs: number;
  readonly #maxMs: number;
  readonly #episodes = new Map<string, { tries: number; at: number }>();

  constructor(options: FailureBackoffOptions = {}) {
    this.#firstMs = options.firstMs ?? 10_000;
    this.#maxMs = options.maxMs ?? 300_000;
    if (!(this.#firstMs > 0) || !(this.#maxMs >= this.#firstMs)) {
      throw new RangeError(
        `FailureBackoff needs 0 < firstMs <= maxMs, got ${this.#firstMs} and ${this.#maxMs}`,
      );
    }
  }

  /** Records a failure of `path` at `nowMs`; returns when to retry and whether to warn. */
  failed(path: string, nowMs: number): RetryPlan {
    const stale = (at: number) => nowMs - at > this.#maxMs * 3;
    if (this.#episodes.size > PRUNE_ABOVE) {
      for (const [p, e] of this.#episodes) {
        if (stale(e.at)) this.#episodes.delete(p);
      }
    }
    const last = this.#episodes.get(path);
    const tries = last === undefined || stale(last.at) ? 1 : last.tries + 1;
    this.#episodes.set(path, { tries, at: nowMs });
    const delayMs = Math.min(
      this.#maxMs,
      this.#firstMs * 2 ** Math.min(tries - 1, 30),
    );
    return { delayMs, warn: tries === 1, tries };
  }
}
