/**
 * When a node stops watching its folder while it writes many files itself,
 * and when it watches again. Pure: time and the puller's backlog come in.
 *
 * Why: each file the puller writes raises about six events, and
 * `Deno.watchFs` spends tens of microseconds on each in its own thread
 * (it opens and canonicalizes every event's path). Pulling 20,000 small
 * files, watching cost the receiver 38% of its CPU and the pair 22% of the
 * time. While suspended, changes are not reported, so the node scans the
 * whole folder after each resume; a suspension lasts until the backlog
 * is small or for at most `maxSuspendMs` (stretched to 20 times the last
 * full scan, so scanning never takes more than ~5% of the time).
 * @module
 */

/** Options of {@linkcode WatchSuspension}. */
export interface WatchSuspensionOptions {
  /** Backlog (files to pull) from which watching stops (default 512). */
  readonly suspendAt?: number;
  /** Backlog below which watching resumes (default 64). */
  readonly resumeBelow?: number;
  /** Longest suspension before watching and scanning again (default 10 s). */
  readonly maxSuspendMs?: number;
  /** A suspension lasts at least this many times the last full scan (20). */
  readonly scanFactor?: number;
}

/** What to do now. */
export type SuspensionStep = "suspend" | "resume" | "stay";

/** The state of one node's watcher suspension. */
export class WatchSuspension {
  readonly #suspendAt: number;
  readonly #resumeBelow: number;
  readonly #maxSuspendMs: number;
  readonly #scanFactor: number;
  #since: number | undefined;
  #lastScanMs = 0;

  constructor(options: WatchSuspensionOptions = {}) {
    this.#suspendAt = options.suspendAt ?? 512;
    this.#resumeBelow = options.resumeBelow ?? 64;
    this.#maxSuspendMs = options.maxSuspendMs ?? 10_000;
    this.#scanFactor = options.scanFactor ?? 20;
    if (!(this.#resumeBelow >= 0 && this.#resumeBelow <= this.#suspendAt)) {
      throw new RangeError(
        `Cannot resume below ${this.#resumeBelow} files and suspend at ${this.#suspendAt}`,
      );
    }
  }

  /** True between `suspended()` and `resumed()`. */
  get active(): boolean {
    return this.#since !== undefined;
  }

  /**
   * The step for a backlog of `backlog` files at `now` (ms). `mayStop` is
   * false while the node must keep watching (the scan after the last
   * resume is not done yet).
   */
  decide(now: number, backlog: number, mayStop: boolean): SuspensionStep {
    if (this.#since === undefined) {
      return mayStop && backlog >= this.#suspendAt ? "suspend" : "stay";
    }
    const longest = Math.max(
      this.#maxSuspendMs,
      this.#scanFactor * this.#lastScanMs,
    );
    if (backlog < this.#resumeBelow || now - this.#since >= longest) {
      return "resume";
    }
    return "stay";
  }

  /** The watcher was suspended at `now`. */
  suspended(now: number): void {
    this.#since = now;
  }

  /** The watcher watches again. */
  resumed(): void {
    this.#since = undefined;
  }

  /** The full scan after a resume took `ms`. */
  scanned(ms: number): void {
    this.#lastScanMs = Math.max(0, ms);
  }
}
