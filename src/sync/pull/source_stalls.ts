/**
 * Sources that stay connected but stop answering chunk requests. Such a
 * peer kept its pulls, their transfer slots and their chunk lists for as
 * long as it stayed (issue #19 point 5): its connection was alive (it
 * answers pings), so nothing else ended them.
 *
 * Per source, this puller counts the requests it awaits and the time of
 * the last answer (any answer: bytes, `changed`, `refused`), or of the
 * first request sent when none was awaited. A source awaited for
 * {@linkcode STALL_MS} with no answer at all is stalled: the pulls waiting
 * on it are told (they give its chunks to other sources, or give up and
 * are retried later with back-off), and the log says so once per episode.
 *
 * Why 25 s: a whole connection silent for 8 s is closed as dead
 * (`DEFAULT_DEAD_AFTER_MS`, up to ~13 s measured under load), so a peer
 * caught here is one that keeps its connection alive on purpose or is
 * stuck. Honest slow links answer far more often: requests are pipelined
 * (at most 4 MiB in flight per peer), so even at 1 Mbit/s an answer of at
 * most 256 KiB comes every 2 s; at 100 Mbit/s every few milliseconds.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  ChunkHashMismatchError,
  ChunkUnavailableError,
} from "../session/mod.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Awaited for this long with no answer at all: the source is stalled. */
export const STALL_MS = 25_000;

/** How often the awaited sources are checked. */
export const STALL_CHECK_MS = 1_000;

/** What the stall rule reads of one source. */
export interface SourceWait {
  /** Requests awaited. */
  readonly awaited: number;
  /** Last answer, or the first request sent while none was awaited (ms). */
  readonly since: number;
}

/**
 * Whether a source is stalled: requests are awaited and none was answered
 * for `windowMs`. Pure.
 */
export function isStalled(
  wait: SourceWait,
  now: number,
  windowMs: number = STALL_MS,
): boolean {
  return wait.awaited > 0 && now - wait.since >= windowMs;
}

/** Whether a request failed with the peer's own answer (not for want of one). */
export function answeredWith(err: unknown): boolean {
  return err instanceof ChunkUnavailableError ||
    err instanceof ChunkHashMismatchError;
}

/** A stalled source stopped serving a file: the pull goes on without it. */
export class StalledSourceError extends Error {
  constructor(path: string, source: string) {
    super(
      `Peer ${source} has not answered chunk requests for "${path}" in ${
        STALL_MS / 1000
      } s while staying connected`,
    );
    this.name = "StalledSourceError";
  }
}

interface Entry {
  awaited: number;
  since: number;
  /** The stall was logged; cleared by the next answer. */
  reported: boolean;
  /** How the log names the source. */
  label: string;
  readonly listeners: Set<() => void>;
}

/** Options of {@linkcode SourceStalls}. */
export interface SourceStallsOptions {
  /** Clock (ms); defaults to `Date.now`. */
  readonly now?: () => number;
  /** The stall window (default {@linkcode STALL_MS}). */
  readonly windowMs?: number;
}

/** The puller's view of each source's answers; see the module comment. */
export class SourceStalls {
  readonly #now: () => number;
  readonly windowMs: number;
  readonly #entries = new Map<string, Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SourceStallsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? STALL_MS;
  }

  /** A request to `key` (named `label` in the log) is awaited from now. */
  sent(key: string, label: string = key): void {
    const e = this.#entry(key);
    e.label = label;
    if (e.awaited === 0) e.since = this.#now();
    e.awaited++;
    this.#arm();
  }

  /** `key` answered a request (with anything). */
  answered(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.awaited = Math.max(0, e.awaited - 1);
    e.since = this.#now();
    e.reported = false;
    this.#forget(key, e);
  }

  /** A request to `key` is no longer awaited (abandoned, failed unanswered). */
  dropped(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.awaited = Math.max(0, e.awaited - 1);
    this.#forget(key, e);
  }

  /** Whether `key` is stalled now. */
  stalled(key: string): boolean {
    const e = this.#entries.get(key);
    return e !== undefined && isStalled(e, this.#now(), this.windowMs);
  }

  /** The first of `sources` when there are some and all are stalled. */
  allStalled<T extends { readonly key: string }>(
    sources: readonly T[],
  ): T | undefined {
    return sources.length > 0 && sources.every((s) => this.stalled(s.key))
      ? sources[0]
      : undefined;
  }

  /**
   * Calls `listener` once `key` is stalled (at the next check, within
   * {@linkcode STALL_CHECK_MS}); returns the call that removes it.
   */
  onStall(key: string, listener: () => void): () => void {
    const e = this.#entry(key);
    e.listeners.add(listener);
    this.#arm();
    return () => {
      e.listeners.delete(listener);
      this.#forget(key, e);
    };
  }

  /** Checks every awaited source now (the timer does it every second). */
  check(): void {
    const now = this.#now();
    for (const e of this.#entries.values()) {
      if (!isStalled(e, now, this.windowMs) || e.listeners.size === 0) continue;
      if (!e.reported) {
        e.reported = true;
        log.warn(
          "Peer {peer} stays connected but has not answered chunk requests for {seconds} s; its files are pulled from other peers, or tried again later",
          { peer: e.label, seconds: Math.round((now - e.since) / 1000) },
        );
      }
      const listeners = [...e.listeners];
      e.listeners.clear();
      for (const listener of listeners) listener();
    }
    this.#disarmIfIdle();
  }

  /** Stops the timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #entry(key: string): Entry {
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = {
        awaited: 0,
        since: this.#now(),
        reported: false,
        label: key,
        listeners: new Set(),
      };
      this.#entries.set(key, e);
    }
    return e;
  }

  #forget(key: string, e: Entry): void {
    if (e.awaited === 0 && e.listeners.size === 0 && !e.reported) {
      this.#entries.delete(key);
    }
    this.#disarmIfIdle();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), STALL_CHECK_MS);
  }

  #disarmIfIdle(): void {
    for (const e of this.#entries.values()) {
      if (e.listeners.size > 0) return;
    }
    this.close();
  }
}
