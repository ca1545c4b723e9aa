/**
 * The puller's side of the mass-delete guard ({@linkcode DeleteGuard}):
 * deletes are staged until the peers' index batches that carry them have
 * settled (none new for {@linkcode DELETE_SETTLE_MS}), then judged at once;
 * once they would delete more than half of the files here, none of them
 * is applied until the user accepts (`dsync resume --accept-deletes`).
 * Judging each round as it came let the first batches of a peer's
 * `rm -r` through: 13 of 400 deletes were applied before the hold.
 * A folder too small for a mass delete (at most 100 files) skips the
 * staging, so its deletes are applied at once.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Decision } from "../apply/mod.ts";
import { toHex } from "../../index/mod.ts";
import {
  DeleteGuard,
  MASS_DELETE_MIN,
  MASS_DELETE_WINDOW_MS,
  settleTime,
  tooFewForMassDelete,
} from "./delete_guard.ts";
import type { PullerOptions } from "./pull_context.ts";
import type { PullQueue } from "./pull_queue.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** The content hash (hex) of the file `d` deletes, or null when no file. */
function contentOf(d: Decision): string | null {
  return d.local?.kind === "file" && !d.local.deleted
    ? toHex(d.local.hash)
    : null;
}

/** What the check needs of the puller's options. */
export type MassDeleteOptions = Pick<
  PullerOptions,
  "liveFiles" | "keptElsewhere" | "nameOf" | "remote" | "now"
>;

/** Judges the deletes of each round; see the module comment. */
export class MassDeleteCheck {
  readonly guard = new DeleteGuard();
  readonly #o: MassDeleteOptions;
  /** Where staged deletes go once judged, to be planned again. */
  readonly #queue: Pick<PullQueue, "enqueue">;
  /**
   * Deletes waiting to be judged: path → the content hash (hex) of the
   * file it deletes, or null when it deletes no file.
   */
  readonly #staged = new Map<string, string | null>();
  /**
   * Judged and let through, with when: applied when their path is planned
   * again as a delete soon (a path that is not, e.g. re-created meanwhile,
   * is judged afresh later).
   */
  readonly #released = new Map<string, number>();
  #first = 0;
  #last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(o: MassDeleteOptions, queue: Pick<PullQueue, "enqueue">) {
    this.#o = o;
    this.#queue = queue;
  }

  /** Paths whose delete the guard holds. */
  get held(): number {
    return this.guard.held.size;
  }

  /** Paths whose delete waits for the peers' batches to settle. */
  get staged(): number {
    return this.#staged.size;
  }

  /** The deletes of a round that are applied now (at `now`). */
  pass(ds: Decision[], now: number): Decision[] {
    const liveFiles = this.#o.liveFiles;
    if (ds.length === 0 || liveFiles === undefined) return ds;
    if (this.guard.accepting) return ds;
    const released = ds.filter((d) => {
      const at = this.#released.get(d.path);
      this.#released.delete(d.path);
      return at !== undefined && now - at < MASS_DELETE_WINDOW_MS;
    });
    const rest = ds.filter((d) => !released.includes(d));
    if (rest.length === 0) return released;
    if (
      this.#staged.size === 0 && (this.guard.held.size > 0 ||
        tooFewForMassDelete(liveFiles(), this.guard.recent(now)))
    ) {
      return [...released, ...this.#judge(rest, now)];
    }
    if (this.#staged.size === 0) this.#first = now;
    this.#last = now;
    for (const d of rest) this.#staged.set(d.path, contentOf(d));
    this.#schedule(now);
    return released;
  }

  /** The user accepted: the staged deletes go with the held ones. */
  accept(): string[] {
    const staged = [...this.#staged.keys()];
    this.#staged.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return [...this.guard.accept(), ...staged];
  }

  /** Stops the timer; nothing staged is judged any more. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(now: number): void {
    if (this.#timer !== undefined || this.#closed) return;
    const at = settleTime(this.#first, this.#last, now);
    const delay = at === "now" ? 0 : at - now;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#settle();
    }, delay);
  }

  /** Judges what was staged once no new delete came for a while. */
  #settle(): void {
    if (this.#closed || this.#staged.size === 0) return;
    const now = (this.#o.now ?? Date.now)();
    if (settleTime(this.#first, this.#last, now) !== "now") {
      this.#schedule(now);
      return;
    }
    const staged = new Map(this.#staged);
    this.#staged.clear();
    for (const [path, at] of this.#released) {
      if (now - at >= MASS_DELETE_WINDOW_MS) this.#released.delete(path);
    }
    const apply = this.#verdict(staged, now);
    for (const path of apply) this.#released.set(path, now);
    // Held or not, the puller looks again (released paths are applied;
    // after a hold it may be idle now).
    this.#queue.enqueue(apply);
  }

  #judge(ds: Decision[], now: number): Decision[] {
    const apply = new Set(
      this.#verdict(new Map(ds.map((d) => [d.path, contentOf(d)])), now),
    );
    return ds.filter((d) => apply.has(d.path));
  }

  /**
   * Judges deletes (path → content hash of the file deleted, or null);
   * returns the paths to apply. Those whose content a file at another path
   * here still holds (a folder renamed on a peer) lose nothing: they are
   * let through and not counted, looked up only when the rest could add
   * up to a mass delete.
   */
  #verdict(deletes: ReadonlyMap<string, string | null>, now: number): string[] {
    const files = new Map<string, string>();
    for (const [path, hash] of deletes) {
      if (hash !== null) files.set(path, hash);
    }
    const moved = this.#o.keptElsewhere !== undefined &&
        (this.guard.held.size > 0 ||
          files.size + this.guard.recent(now) > MASS_DELETE_MIN)
      ? this.#o.keptElsewhere(files)
      : new Set<string>();
    if (moved.size > 0) {
      this.guard.moved(moved);
      log.debug(
        "{count} of {total} deletes move content kept here under another name",
        {
          count: moved.size,
          total: deletes.size,
        },
      );
    }
    const paths = [...deletes.keys()].filter((p) => !moved.has(p));
    const counted = files.size - moved.size;
    const live = this.#o.liveFiles?.() ?? 0;
    const before = this.guard.held.size;
    const verdict = this.guard.judge(paths, counted, live, now);
    if (verdict === "hold" && before === 0) {
      const replica = this.#o.remote.recordsFor(paths[0]!).find((r) =>
        r.record.deleted
      )?.replica;
      const peer =
        (replica === undefined ? undefined : this.#o.nameOf?.(replica)) ??
          "a peer";
      log.warn(
        "{peer} would delete {count} of the {files} files here; nothing of it is applied. If that is right: dsync resume -d DIR --accept-deletes",
        { peer, count: this.guard.held.size, files: live },
      );
    }
    return verdict === "apply" ? [...deletes.keys()] : [...moved];
  }
}
