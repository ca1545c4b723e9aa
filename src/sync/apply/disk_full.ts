/**
 * A full disk is one condition, not one error per file: the first file that
 * fails for lack of space says so once (with the path and the OS message),
 * later failures are quiet. The episode ends only when writes have gone
 * {@linkcode SETTLE_MS} without a failure after one succeeded, which is said
 * once too: on a nearly full disk a small file (or a retry after a `.part`
 * was freed) still fits while the next one fails, and that is one
 * condition, not many.
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

/**
 * How long writes must go without a failure, after a success, to end an
 * episode: longer than the puller's 10 s retry cycle, so that one more
 * failed retry keeps the episode open.
 */
export const SETTLE_MS = 15_000;

/** Logs the start and the end of a full-disk episode, once each. */
export class DiskFullNotice {
  readonly #settleMs: number;
  #full = false;
  #failures = 0;
  #settling: ReturnType<typeof setTimeout> | undefined;

  constructor(options: { settleMs?: number } = {}) {
    this.#settleMs = options.settleMs ?? SETTLE_MS;
  }

  /** True from a reported failure until the episode has ended. */
  get full(): boolean {
    return this.#full;
  }

  /** A write of `path` failed for lack of space. */
  report(path: string, error: Error, retryInMs: number): void {
    this.#failures++;
    this.#stopSettling();
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

  /** A write succeeded: the episode, if any, ends unless another fails soon. */
  clear(): void {
    if (!this.#full || this.#settling !== undefined) return;
    this.#settling = setTimeout(() => {
      this.#settling = undefined;
      log.info(
        "Disk space is available again ({failures} writes failed meanwhile); resuming",
        { failures: this.#failures },
      );
      this.#full = false;
      this.#failures = 0;
    }, this.#settleMs);
    Deno.unrefTimer(this.#settling);
  }

  /** Stops the pending end-of-episode check (at shutdown). */
  close(): void {
    this.#stopSettling();
  }

  #stopSettling(): void {
    if (this.#settling === undefined) return;
    clearTimeout(this.#settling);
    this.#settling = undefined;
  }
}
