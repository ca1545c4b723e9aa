/**
 * What becomes of a path whose pull or local action failed. The error's
 * class decides ({@linkcode failureKind}, a pure table); then:
 *
 * | kind | what happens |
 * |---|---|
 * | `paused` | queued again, taken once the puller resumes |
 * | `local-change` | the path is rescanned and planned again; after 3 in a row it waits 10 retry delays |
 * | `unsafe-path` | logged, dropped (a peer's record can change that) |
 * | `no-source` | waits for a peer that can serve it, unless one came meanwhile: then planned again |
 * | `stalled` | a connected source stopped answering (logged once per peer by `source_stalls.ts`): retried with back-off, quietly |
 * | `not-empty` | logged, dropped (the directory holds entries the peer did not know of) |
 * | `disk-full` | one notice per episode; space freed (old versions), retried every 10 delays |
 * | `other` | retried with back-off, warned once per episode ({@linkcode FailureBackoff}) |
 *
 * Failures never lose data: nothing here deletes or overwrites anything.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  ContentMismatchError,
  DirectoryNotEmptyError,
  DiskFullNotice,
  isDiskFull,
  LocalChangeError,
  UnsafePathError,
} from "../apply/mod.ts";
import {
  ChunkHashMismatchError,
  ChunkUnavailableError,
  PeerGoneError,
} from "../session/mod.ts";
import { NoSourceError } from "./chunk_fetcher.ts";
import { FailureBackoff } from "./failure_backoff.ts";
import { PullerPausedError } from "./pull_errors.ts";
import { StalledSourceError } from "./source_stalls.ts";
import { type PullQueue, RETRY_DELAY_MS } from "./pull_queue.ts";

const log = getLogger(["dsync", "sync", "puller"]);

const MAX_LOCAL_CHANGE_RETRIES = 3;
/** After this many retry delays a path that kept changing locally is planned again. */
const LOCAL_CHANGE_PAUSE = 10;

/** How a failure is handled; see the module comment. */
export type FailureKind =
  | "paused"
  | "local-change"
  | "unsafe-path"
  | "no-source"
  | "stalled"
  | "not-empty"
  | "disk-full"
  | "other";

/** No connected peer could serve a chunk (none had it, or it left or changed). */
export function lacksSource(err: unknown): boolean {
  return err instanceof NoSourceError || err instanceof PeerGoneError ||
    err instanceof ChunkUnavailableError;
}

/** The handling `err` gets, by its class. */
export function failureKind(err: unknown): FailureKind {
  if (err instanceof PullerPausedError) return "paused";
  if (err instanceof LocalChangeError) return "local-change";
  if (err instanceof UnsafePathError) return "unsafe-path";
  if (err instanceof StalledSourceError) return "stalled";
  if (
    err instanceof ContentMismatchError ||
    err instanceof ChunkHashMismatchError ||
    lacksSource(err)
  ) return "no-source";
  if (err instanceof DirectoryNotEmptyError) return "not-empty";
  if (isDiskFull(err)) return "disk-full";
  return "other";
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** What {@linkcode PullFailures} works with. */
export interface FailureHost {
  readonly queue: PullQueue;
  /** Rescans paths (see `PullerOptions.rescan`). */
  readonly rescan: (paths: string[]) => Promise<void>;
  /** Clock in epoch ms. */
  readonly now: () => number;
  /** True once the puller is stopping: failures are then ignored. */
  readonly closed: () => boolean;
  /** Bumped whenever peers may serve more than before. */
  readonly sourceEpoch: () => number;
  /** The disk is full while writing `path`: free space before the retry. */
  readonly onDiskFull?: (path: string) => Promise<void>;
}

/** The puller's handling of failed paths; see the module comment. */
export class PullFailures {
  readonly #host: FailureHost;
  readonly #localRetries = new Map<string, number>();
  readonly #diskFull = new DiskFullNotice();
  readonly #backoff = new FailureBackoff();

  constructor(host: FailureHost) {
    this.#host = host;
  }

  /** `path` was applied: its run of local changes ends. */
  settled(path: string): void {
    this.#localRetries.delete(path);
  }

  /** A write succeeded: a disk-full episode may end. */
  wrote(): void {
    this.#diskFull.clear();
  }

  close(): void {
    this.#diskFull.close();
  }

  /**
   * Decides what becomes of `path` after `err`; `epoch` is the source
   * epoch when the action started (a peer that said hello since may serve
   * what failed).
   */
  async failed(
    path: string,
    err: unknown,
    epoch: number = this.#host.sourceEpoch(),
  ): Promise<void> {
    const host = this.#host;
    if (host.closed()) return;
    const error = errorOf(err);
    switch (failureKind(error)) {
      case "paused":
        host.queue.enqueue([path]); // taken again once resumed
        return;
      case "local-change":
        return await this.#localChange(path, error);
      case "unsafe-path":
        log.warn("Not applying {path}: {message}", {
          path,
          message: error.message,
        });
        return;
      case "no-source":
        if (epoch !== host.sourceEpoch() || host.queue.has(path)) {
          host.queue.enqueue([path]); // a peer came (or news arrived) meanwhile
          return;
        }
        log.debug(
          "{path} waits for a peer that can serve it: {name}: {message}",
          { path, name: error.name, message: error.message },
        );
        host.queue.wait(path);
        return;
      case "not-empty":
        log.info("Not replacing {path}: {message}", {
          path,
          message: error.message,
        });
        return;
      case "disk-full":
        this.#diskFull.report(path, error, RETRY_DELAY_MS * 10);
        await host.onDiskFull?.(path).catch((err) =>
          log.warn("Cannot free space for {path}: {error}", {
            path,
            error: String(err),
          })
        );
        host.queue.retryLater(path, 10);
        return;
      case "stalled":
        return this.#retry(path, error, true);
      case "other":
        return this.#retry(path, error);
    }
  }

  async #localChange(path: string, error: Error): Promise<void> {
    const host = this.#host;
    const tries = (this.#localRetries.get(path) ?? 0) + 1;
    this.#localRetries.set(path, tries);
    if (tries > MAX_LOCAL_CHANGE_RETRIES) {
      log.warn(
        "{path} keeps changing locally; trying again in {seconds} s",
        { path, seconds: LOCAL_CHANGE_PAUSE * RETRY_DELAY_MS / 1000 },
      );
      this.#localRetries.delete(path);
      host.queue.retryLater(path, LOCAL_CHANGE_PAUSE);
      return;
    }
    log.debug("{path} changed locally; rescanning it first ({message})", {
      path,
      message: error.message,
    });
    try {
      await host.rescan([path]);
    } catch (scanError) {
      log.warn("Cannot rescan {path}: {error}", {
        path,
        error: String(scanError),
      });
    }
    host.queue.enqueue([path]);
  }

  #retry(path: string, error: Error, quiet = false): void {
    const retry = this.#backoff.failed(path, this.#host.now());
    const props = {
      path,
      name: error.name,
      message: error.message,
      seconds: Math.round(retry.delayMs / 1000),
    };
    if (retry.warn && !quiet) {
      log.warn(
        "Cannot apply {path}: {name}: {message}; retrying in {seconds} s, then less often (quietly)",
        props,
      );
    } else {
      log.debug(
        "Still cannot apply {path}: {name}: {message}; retrying in {seconds} s",
        props,
      );
    }
    this.#host.queue.retryLater(path, retry.delayMs / RETRY_DELAY_MS);
  }
}
