/**
 * A full disk is one condition, not one error per file: the first file that
 * fails for lack of space says so once (with the path and the OS message),
 * later failures are quiet until a write succeeds again, which says so too.
 * A write that succeeds within {@linkcode SETTLE_MS} of a failure does not
 * end the episode: on a nearly full disk small files still fit while large
 * ones fail, and that is one condition, not many.
 * The files themselves are retried later by the puller.
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["dsync", "sync", "disk_full"]);

/** True for "no space left" from the OS (`ENOSPC`) or from SQLite (`SQLITE_FULL`). */
export function isDiskFull(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if ((err as { code?: unknown }).code === "ENOSPC") return true;
  return /No space left on device|os error 28\b|database or disk is full/i
    .test(err.message);
}

/** How long after the last failure a success must come to end an episode. */
export const SETTLE_MS = 5_000;

/** Logs the start and the end of a full-disk episode, once each. */
export class DiskFullNotice {
  #full = false;
  #failures = 0;
  #lastFailureAt = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** True between a reported failure and the next success. */
  get full(): boolean {
    return this.#full;
  }

  /** A write of `path` failed for lack of space. */
  report(path: string, error: Error, retryInMs: number): void {
    this.#failures++;
    this.#lastFailureAt = this.#now();
    if (this.#full) {
      log.debug("Still no space for {path}; retrying in {seconds} s", {
        path,
        seconds: Math.round(retryInMs / 1000),
      });
      return;
    }
    this.#full = true;
    log.error(
      "The disk is full: cannot write {path} ({message}). Nothing was replaced; incoming files are retried every {seconds} s until space is freed",
      { path, message: error.message, seconds: Math.round(retryInMs / 1000) },
    );
  }

  /** A write succeeded: ends the episode, if any, once failures have settled. */
  clear(): void {
    if (!this.#full) return;
    if (this.#now() - this.#lastFailureAt < SETTLE_MS) return;
    log.info(
      "Disk space is available again ({failures} writes failed meanwhile); resuming",
      { failures: this.#failures },
    );
    this.#full = false;
    this.#failures = 0;
  }
}
