/**
 * Watches a folder with `Deno.watchFs` and hands coalesced batches of
 * changed paths to its owner, one batch at a time. Start it before the
 * initial full scan, so nothing changed between that scan and the watch is
 * missed. A batch naming `.dsyncignore` means the ignore rules may have
 * changed: refresh them and rescan the whole folder.
 *
 * Decisions:
 * - Every path of an event is rescanned, whatever its kind: a rename is
 *   reported as both paths on Linux, coalesced on macOS and as a pair of
 *   events on Windows, and rescanning each side is correct in all three.
 *   `access` events are kept too: on Linux they mean "closed after writing"
 *   (plain reads raise none).
 * - `any` and `other` events, the `rescan` flag (queue overflow), an event
 *   without paths and an event on the folder itself ask for "full".
 * - Never reported: anything in a `.dsync` directory, `*.part`, and what
 *   the `ignore` predicate rejects, except the folder's `.dsyncignore`,
 *   which is always reported so the owner can reload its rules.
 * - If the watcher cannot start or fails later (e.g. the inotify watch
 *   limit), one warning is logged and "full" is emitted at once and then
 *   every `fallbackIntervalMs`; the OS watcher is not retried.
 * - A batch whose `onBatch` rejects is logged and dropped; the owner's
 *   periodic full rescan catches what it missed. Events pending at
 *   `close()` are dropped too: the next start scans the whole folder.
 */

import { getLogger } from "@logtape/logtape";
import {
  EventCoalescer,
  type EventCoalescerOptions,
  type RescanBatch,
} from "./coalescer.ts";
import {
  eventRelPath,
  folderRoots,
  isIgnoreFile,
  isInternalPath,
} from "./event_path.ts";
import { workerWatchFs } from "./worker_event_source.ts";
import {
  findUnreadableDirs,
  listChildDirs,
  planAround,
  type WatchPlan,
} from "./watch_plan.ts";
import { OS_SEP, parentRel } from "../index/mod.ts";
import type { EventSource, WatchFs } from "./event_source.ts";

const log = getLogger(["dsync", "watch"]);

/** Default period of full rescans when the OS watcher is unavailable, in ms. */
export const DEFAULT_FALLBACK_INTERVAL_MS = 10_000;

/** Options of {@linkcode FolderWatcher}. */
export interface FolderWatcherOptions extends EventCoalescerOptions {
  /** The synced folder. */
  readonly folder: string;
  /**
   * Called with each batch: canonical relative paths to rescan (sorted, none
   * below another), or "full". Never called again before it settles.
   */
  readonly onBatch: (relPaths: RescanBatch) => Promise<void>;
  /** True for canonical relative paths not to report (e.g. ignore rules). */
  readonly ignore?: (relPath: string) => boolean;
  /** Period of full rescans if the OS watcher fails (default 10 s). */
  readonly fallbackIntervalMs?: number;
  /**
   * Source of events; defaults to `Deno.watchFs(folder, { recursive: true })`
   * on a worker thread (`WorkerEventSource`).
   */
  readonly watchFs?: WatchFs;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Turns file-system events under a folder into rescan batches. */
export class FolderWatcher {
  readonly #folder: string;
  readonly #onBatch: (relPaths: RescanBatch) => Promise<void>;
  readonly #ignore: ((relPath: string) => boolean) | undefined;
  readonly #fallbackIntervalMs: number;
  readonly #watchFs: WatchFs;
  readonly #coalescer: EventCoalescer;
  #state: "new" | "running" | "closed" = "new";
  #suspended = false;
  #roots: string[] = [];
  #source: EventSource | undefined;
  #pump: Promise<void> = Promise.resolve();
  #delivering: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fallback: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  /** Set once watching the whole folder failed on an unreadable subfolder. */
  #plan: WatchPlan | undefined;
  #replanTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: FolderWatcherOptions) {
    this.#folder = opts.folder;
    this.#onBatch = opts.onBatch;
    this.#ignore = opts.ignore;
    this.#watchFs = opts.watchFs ?? workerWatchFs;
    const interval = opts.fallbackIntervalMs ?? DEFAULT_FALLBACK_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval <= 0) {
      throw new RangeError(
        `Cannot use fallbackIntervalMs ${interval}: not a positive number of ms`,
      );
    }
    this.#fallbackIntervalMs = interval;
    this.#coalescer = new EventCoalescer(opts);
  }

  /** True while the watcher emits "full" periodically instead of watching. */
  get degraded(): boolean {
    return this.#fallback !== undefined;
  }

  /** Starts watching. Throws if called twice or after `close()`. */
  start(): void {
    if (this.#state !== "new") {
      throw new Error(`Cannot start a watcher that is ${this.#state}`);
    }
    this.#state = "running";
    this.#roots = folderRoots(this.#folder);
    this.#open();
  }

  #open(): void {
    let source: EventSource;
    try {
      const plan = this.#plan;
      source = plan === undefined ? this.#watchFs(this.#folder) : this.#watchFs(
        this.#folder,
        {
          recursive: plan.recursive.map((rel) => this.#osPath(rel)),
          flat: plan.flat.map((rel) => this.#osPath(rel)),
        },
      );
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#source = source;
    // A suspended source's loop may still be ending: close() awaits both.
    const previous = this.#pump;
    const current = this.#consume(source);
    this.#pump = Promise.all([previous, current]).then(() => {});
  }

  /** True between `suspend()` and `resume()`. */
  get suspended(): boolean {
    return this.#suspended;
  }

  /**
   * Stops the OS watcher until `resume()`, for a node about to write many
   * files itself: each file it writes raises half a dozen events, and
   * `Deno.watchFs` spends tens of microseconds on each. Changes made
   * meanwhile are not reported: scan the whole folder after `resume()`.
   * Returns false (and does nothing) unless watching normally.
   */
  suspend(): boolean {
    if (
      this.#state !== "running" || this.#suspended ||
      this.#fallback !== undefined || this.#source === undefined
    ) {
      return false;
    }
    this.#suspended = true;
    this.#closeSource();
    return true;
  }

  /**
   * Watches again after `suspend()`; settles once changes are reported
   * again (or the watcher fell back to periodic rescans). The caller then
   * scans the whole folder for what changed while suspended.
   */
  async resume(): Promise<void> {
    if (!this.#suspended) return;
    this.#suspended = false;
    if (this.#state !== "running") return;
    this.#open();
    await this.#source?.ready;
  }

  /**
   * Settles once the folder is watched (or the watcher fell back to
   * periodic rescans): changes from then on are reported. Scan the folder
   * after this, so that nothing changed in between is missed.
   */
  async started(): Promise<void> {
    await this.#source?.ready;
  }

  /**
   * Stops watching: no `onBatch` starts afterwards, and the returned promise
   * settles once the one in flight (if any) has. Safe to call repeatedly.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#state = "closed";
    clearTimeout(this.#timer);
    clearInterval(this.#fallback);
    clearTimeout(this.#replanTimer);
    this.#timer = undefined;
    this.#closeSource();
    await this.#pump;
    await this.#delivering;
  }

  #closeSource(): void {
    const source = this.#source;
    this.#source = undefined;
    try {
      source?.close();
    } catch {
      // Already closed, e.g. by the iterator ending.
    }
  }

  async #consume(source: EventSource): Promise<void> {
    try {
      for await (const event of source) {
        if (this.#state === "closed" || this.#source !== source) return;
        this.#onEvent(event);
      }
      // A source closed by suspend() ends without a failure.
      if (this.#state !== "closed" && this.#source === source) {
        this.#fail(new Error("the event stream ended"));
      }
    } catch (err) {
      if (this.#state !== "closed" && this.#source === source) this.#fail(err);
    }
  }

  #onEvent(event: Deno.FsEvent): void {
    const now = performance.now();
    if (
      event.flag === "rescan" || event.kind === "any" ||
      event.kind === "other" || event.paths.length === 0
    ) {
      log.debug("Full rescan for a {kind} event on {paths}", {
        kind: event.flag ?? event.kind,
        paths: event.paths,
      });
      this.#coalescer.addFull(now);
      this.#schedule();
      return;
    }
    const kept: string[] = [];
    for (const absPath of event.paths) {
      const rel = eventRelPath(absPath, this.#roots);
      if (rel === undefined) {
        log.debug("Dropping event outside {folder}: {path}", {
          folder: this.#folder,
          path: absPath,
        });
      } else if (this.#reports(rel)) {
        kept.push(rel);
      }
    }
    if (kept.length === 0) return;
    this.#coalescer.add(kept, now);
    this.#schedule();
    if (this.#plan !== undefined) this.#watchNewDirs(kept);
  }

  #osPath(rel: string): string {
    return rel === ""
      ? this.#folder
      : this.#folder + OS_SEP + rel.split("/").join(OS_SEP);
  }

  /**
   * A folder that appears in one watched on its own, or an unreadable one
   * that changed (its permissions, maybe), is not watched inside: plan
   * again, watch again, and rescan it (what was written in it before the
   * new watch is found then). Once none is unreadable, the whole folder is
   * watched as usual.
   */
  #watchNewDirs(rels: readonly string[]): void {
    const plan = this.#plan!;
    const flat = new Set(plan.flat);
    const watched = new Set(plan.recursive);
    const fresh = rels.filter((rel) => {
      if (!flat.has(parentRel(rel)) || watched.has(rel) || flat.has(rel)) {
        return false;
      }
      try {
        return Deno.lstatSync(this.#osPath(rel)).isDirectory;
      } catch {
        return false;
      }
    });
    if (fresh.length === 0 || this.#replanTimer !== undefined) return;
    this.#replanTimer = setTimeout(() => {
      this.#replanTimer = undefined;
      if (this.#state !== "running" || this.#suspended) return;
      const still = plan.unreadable.filter((rel) => {
        try {
          Deno.readDirSync(this.#osPath(rel)).next();
          return false;
        } catch (err) {
          return err instanceof Deno.errors.PermissionDenied;
        }
      });
      if (still.length < plan.unreadable.length) {
        log.info("Watching {dirs} again", {
          dirs: plan.unreadable.filter((d) => !still.includes(d)).join(", "),
        });
      }
      this.#plan = still.length === 0 ? undefined : this.#planNow(still);
      this.#closeSource();
      this.#open();
      void this.#source?.ready?.then(() => {
        this.#coalescer.add(fresh, performance.now());
        this.#schedule();
      });
    }, 50);
  }

  #planNow(unreadable: readonly string[]): WatchPlan {
    return planAround(
      unreadable,
      (rel) => listChildDirs(this.#folder, OS_SEP, rel),
    );
  }

  /**
   * After watching the whole folder failed: when unreadable subfolders are
   * why, watches around them and returns true.
   */
  #watchAround(err: unknown): boolean {
    if (this.#plan !== undefined || this.#suspended) return false;
    const denied = err instanceof Deno.errors.PermissionDenied ||
      /permission denied|os error 13/i.test(errorText(err));
    if (!denied) return false;
    const unreadable = findUnreadableDirs(
      this.#folder,
      OS_SEP,
      isInternalPath,
    );
    if (unreadable.length === 0) return false;
    this.#plan = this.#planNow(unreadable);
    log.warn(
      "Not watching {dirs}: permission denied. The rest of {folder} is watched for changes",
      { dirs: unreadable.join(", "), folder: this.#folder },
    );
    this.#closeSource();
    this.#open();
    // What changed while the first watch was failing is found by a scan.
    this.#coalescer.addFull(performance.now());
    this.#schedule();
    return true;
  }

  #reports(rel: string): boolean {
    if (rel === "" || isIgnoreFile(rel)) return true;
    if (isInternalPath(rel)) return false;
    if (this.#ignore === undefined) return true;
    try {
      return !this.#ignore(rel);
    } catch (err) {
      log.debug("Ignore check failed for {path}, reporting it: {error}", {
        path: rel,
        error: errorText(err),
      });
      return true;
    }
  }

  /** Arms the timer for the pending batch unless one is armed or running. */
  #schedule(): void {
    if (
      this.#state === "closed" || this.#delivering || this.#timer !== undefined
    ) {
      return;
    }
    const due = this.#coalescer.dueAt();
    if (due === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
    }, Math.max(0, due - performance.now()));
  }

  #tick(): void {
    if (this.#state === "closed" || this.#delivering) return;
    // Events after the timer was armed may have pushed the due time back.
    const batch = this.#coalescer.take(performance.now());
    if (batch === undefined) {
      this.#schedule();
      return;
    }
    this.#delivering = this.#deliver(batch).finally(() => {
      this.#delivering = undefined;
      this.#schedule();
    });
  }

  async #deliver(batch: RescanBatch): Promise<void> {
    log.debug("Rescan batch: {size}", {
      size: batch === "full" ? "full" : batch.length,
    });
    try {
      await this.#onBatch(batch);
    } catch (err) {
      log.error("Rescan after file changes failed: {error}", {
        error: errorText(err),
      });
    }
  }

  #fail(err: unknown): void {
    if (this.#state === "closed" || this.#fallback !== undefined) return;
    if (this.#watchAround(err)) return;
    log.warn(
      "Cannot watch {folder} for changes ({error}); rescanning it every {seconds} s instead",
      {
        folder: this.#folder,
        error: errorText(err),
        seconds: this.#fallbackIntervalMs / 1000,
      },
    );
    this.#closeSource();
    const rescan = () => {
      this.#coalescer.addFull(performance.now());
      this.#schedule();
    };
    this.#fallback = setInterval(rescan, this.#fallbackIntervalMs);
    rescan();
  }
}
