/**
 * The puller: a queue of paths whose peer records may need work here. Each
 * path is planned when its turn comes, against the local record as it is
 * then (never against a stale one), and the action is carried out:
 *
 * - files are assembled in a `.part` beside the target: each chunk is
 *   copied from any local file that holds it (read back and verified) or
 *   else requested from a connected peer that announced the same content,
 *   spread over such peers and pipelined; the whole file is verified,
 *   fsynced and renamed into place only if the target is still what the
 *   index holds, and its record is stored with the post-rename stat. Big
 *   files run one per transfer slot; small files go in groups, committed
 *   together (`writeSmallFiles`), a group per slot;
 * - directories, links, metadata and merged versions are applied at once
 *   (`apply/local_ops.ts`); deletes wait until the files of the same round are
 *   in place (a rename arrives as a new file plus a delete, and the new
 *   file is built from the old one's chunks) and go deepest first;
 * - a conflict lost here keeps the local entry under its conflict name: a
 *   file that loses to a file is pulled like any file and moved aside in
 *   the same gated step that renames the winner into place (the path is
 *   never empty, and the only record stored for it is the winner's, both
 *   versions merged); other losers are moved aside first. The copy is then
 *   indexed as a new file and syncs like any other.
 *
 * Failures never lose data: an unseen local edit makes the path be
 * rescanned and planned again; a file no connected peer can serve waits
 * until a peer connects or announces it again; anything else is retried
 * later. A big file's `.part` outlives a failed pull, a stop or a kill
 * (`LeftoverParts`): the next pull of the path reads its chunks back,
 * verified, and fetches only the rest.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { FileRecord } from "../../index/mod.ts";
import {
  applyMetadata,
  applyMkdir,
  applySymlink,
  clearDirectoryForFile,
  type Decision,
  type LocalOpsContext,
  storeMerges,
} from "../apply/mod.ts";
import { ChunkFetcher } from "./chunk_fetcher.ts";
import {
  decidePath,
  pathsWanting,
  planRound,
  replacesInPlace,
  sameLocal,
} from "./decision.ts";
import { copyName, keepLocalLoser, tagOf } from "./conflict_copy.ts";
import { applyDeleteRound, DirRetries } from "./deletes.ts";
import { MassDeleteCheck } from "./mass_delete.ts";
import { ModeHold } from "./mode_hold.ts";
import { PullFailures } from "./failure_policy.ts";
import {
  type PullContext,
  PullerClosedError,
  type PullerOptions,
  PullerPausedError,
} from "./pull_context.ts";
import { PullQueue, queuePending } from "./pull_queue.ts";
import { type Transfer, TransferBoard } from "./transfers.ts";
import { TransferSlots } from "./transfer_slots.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Byte counts of the pulls so far. */
export interface PullCounters {
  /** Chunk bytes fetched from peers (verified, uncompressed). */
  fetchedBytes: number;
  /** Chunk bytes copied from local files instead. */
  reusedBytes: number;
  /** Chunk bytes found in place in resumed `.part` files. */
  resumedBytes: number;
  /** Files put in place. */
  files: number;
}

const ROUND = 2000;

/**
 * Pulls what peers have and this folder lacks: plans each round of queued
 * paths, carries out the quick actions itself and hands files to the
 * executors (`pullFile`, `pullGroup`) in {@linkcode TransferSlots};
 * failures go to the {@linkcode PullFailures} policy.
 */
export class Puller {
  readonly #o: PullerOptions;
  readonly #ops: LocalOpsContext;
  readonly #now: () => number;
  readonly #queue = new PullQueue();
  readonly #dirs = new DirRetries(this.#queue);
  readonly #tasks = new Set<Promise<void>>();
  readonly #transfers = new TransferBoard();
  #abort = new AbortController();
  #paused = false;
  /** Paths whose peers' changes the folder's mode keeps from being applied. */
  readonly #modeHold: ModeHold;
  readonly #massDelete: MassDeleteCheck;
  /** Nothing is planned while held (see `PullerOptions.held`). */
  #held: boolean;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #loop: Promise<void>;
  #closed = false;
  #idle = true;
  /** A round is being planned or started (its paths are in no set meanwhile). */
  #inRound = false;
  /** Bumped whenever peers may serve more than before (see `retryWaiting`). */
  #sourceEpoch = 0;
  readonly #fetcher: ChunkFetcher;
  readonly #failures: PullFailures;
  /** What the executors use of this puller. */
  readonly #ctx: PullContext;
  /** Big files and groups of small files in flight. */
  readonly #slots: TransferSlots;

  constructor(options: PullerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#ops = {
      folder: options.folder,
      store: options.store,
      gate: options.gate,
      echo: options.echo,
      ...(options.versions === undefined ? {} : { versions: options.versions }),
      ...(options.sourceOf === undefined ? {} : { sourceOf: options.sourceOf }),
    };
    this.#modeHold = new ModeHold(
      options.mode ?? "send-receive",
      options.remote,
    );
    this.#massDelete = new MassDeleteCheck(options, this.#queue);
    this.#fetcher = new ChunkFetcher(options);
    this.#failures = new PullFailures({
      queue: this.#queue,
      rescan: (paths) => options.host.rescan(paths),
      now: this.#now,
      closed: () => this.#closed,
      sourceEpoch: () => this.#sourceEpoch,
      onDiskFull: async (path) => {
        const bytes = options.remote.recordsFor(path).reduce(
          (most, r) => Math.max(most, r.record.size),
          0,
        );
        await options.onDiskFull?.(path, bytes);
      },
    });
    const ctx: PullContext = {
      options,
      ops: this.#ops,
      fetcher: this.#fetcher,
      failures: this.#failures,
      transfers: this.#transfers,
      signal: () => this.#abort.signal,
      now: this.#now,
      closed: () => this.#closed,
      sourceEpoch: () => this.#sourceEpoch,
      recheck: (d, stored) => this.#recheck(d, stored),
      copyName: (d) => copyName(d, this.#now(), options.store.replicaId),
      localTag: () => tagOf(options.store.replicaId),
      requeueMore: (ds) => this.#requeueMore(ds),
    };
    this.#ctx = ctx;
    this.#slots = new TransferSlots(ctx, this.#queue);
    this.#held = options.held ?? false;
    this.#loop = this.#run();
  }

  /** Starts planning and pulling what was queued while held. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#queue.kick();
  }

  /**
   * Stops pulling until {@linkcode resume}: downloads in progress are set
   * aside (a big file's `.part` is kept to resume from), queued and
   * retried paths stay queued, and nothing new starts.
   */
  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#abort.abort(new PullerPausedError());
  }

  /** Pulls again after {@linkcode pause}, from where it stopped. */
  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#abort = new AbortController();
    this.#queue.kick();
  }

  /** Whether {@linkcode pause} holds the puller. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Paths where a peer's change is not applied because of the folder's
   * mode: send-only, every path that differs from the group; receive-only,
   * local changes the group has newer records of.
   */
  get heldBack(): ReadonlySet<string> {
    return this.#modeHold.paths;
  }

  /** Deletes the mass-delete guard holds, and those it stages to judge. */
  get deletes(): { held: number; settling: number } {
    return { held: this.#massDelete.held, settling: this.#massDelete.staged };
  }

  /** Applies the deletes the guard held (and those that follow until idle). */
  acceptDeletes(): number {
    const paths = this.#massDelete.accept();
    this.enqueue(paths);
    return paths.length;
  }

  /** What was pulled so far. */
  get counters(): PullCounters {
    return {
      fetchedBytes: this.#fetcher.fetchedBytes,
      reusedBytes: this.#fetcher.reusedBytes,
      resumedBytes: this.#fetcher.resumedBytes,
      files: this.#transfers.placed,
    };
  }

  /** Paths queued, in progress or waiting for a peer. */
  get pending(): number {
    return this.#queue.pending;
  }

  /** Paths queued or in progress, cheaply (a path may count twice). */
  get backlog(): number {
    return this.#queue.queued + this.#queue.active;
  }

  /** Paths waiting for a peer that can serve them. */
  get waiting(): number {
    return this.#queue.waiting;
  }

  /** Paths that failed and wait for a retry (the folders differ there). */
  get retrying(): number {
    return this.#queue.retrying;
  }

  /** True when nothing is queued, staged or in progress (waiting paths aside). */
  get idle(): boolean {
    return !this.#inRound && this.#massDelete.staged === 0 &&
      this.#queue.queued === 0 &&
      this.#queue.active === 0 && this.#slots.running === 0 &&
      this.#tasks.size === 0;
  }

  /** Files being pulled now. */
  transfers(): Transfer[] {
    return this.#transfers.list();
  }

  /** Queues the paths of peer records that need work here (cheap pre-check). */
  offer(records: readonly FileRecord[]): void {
    const paths = pathsWanting(this.#o.store, records);
    if (paths.length > 0) this.#queue.enqueue(paths);
  }

  /** Queues paths to be planned again. */
  enqueue(paths: Iterable<string>): void {
    this.#queue.enqueue(paths);
  }

  /** A peer became available: retry the paths that waited for one. */
  retryWaiting(): void {
    this.#sourceEpoch++;
    this.#queue.retryWaiting();
  }

  /** Queues every path where some peer's record differs from ours (after a restart). */
  queuePendingFromIndex(): Promise<number> {
    return queuePending(this.#o.remote, this.#queue, () => this.#closed);
  }

  /** Resolves the next time nothing is queued or in progress. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops taking work and abandons downloads (the `.part` files of big
   * ones stay for resuming when `leftovers` is set; the others are
   * removed). Chunk requests already sent are not cancelled: close the
   * peer sessions after this, then await {@linkcode close}.
   */
  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#massDelete.close();
    this.#abort.abort(new PullerClosedError());
    this.#queue.stop();
  }

  /** {@linkcode stop}, then waits for the tasks in progress to end. */
  async close(): Promise<void> {
    this.stop();
    await this.#loop;
    while (this.#slots.running > 0 || this.#tasks.size > 0) {
      await Promise.allSettled([...this.#slots.jobs(), ...this.#tasks]);
    }
    this.#failures.close();
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #checkIdle(): void {
    if (!this.idle) {
      this.#idle = false;
      return;
    }
    for (const wake of this.#idleWaiters.splice(0)) wake();
    this.#massDelete.guard.settle();
    if (!this.#idle) {
      this.#idle = true;
      this.#o.host.idle();
      this.#o.leftovers?.expire().catch(() => {});
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#held || this.#paused) {
        await this.#queue.sleep();
        continue;
      }
      const round = this.#queue.take(ROUND);
      if (round.length === 0) {
        this.#checkIdle();
        await this.#queue.sleep();
        continue;
      }
      this.#idle = false;
      this.#inRound = true;
      try {
        await this.#runRound(round);
      } catch (err) {
        log.error("Pull round failed: {error}", { error: String(err) });
        for (const path of round) this.#queue.retryLater(path);
      } finally {
        this.#inRound = false;
      }
    }
  }

  async #runRound(paths: string[]): Promise<void> {
    await this.#o.chunkIndex.refresh();
    const byKind = planRound(
      this.#o,
      paths,
      (path, d) => this.#modeHold.holds(path, d),
    );
    const get = (kind: string) => byKind.get(kind) ?? [];
    // A file that loses to a file is moved aside when the winner is put in
    // its place (a pull); other losers are moved aside first.
    const conflictPulls: Decision[] = [];
    for (const d of get("conflict")) {
      if (replacesInPlace(d)) conflictPulls.push(d);
      else await this.#op(d, () => this.#resolveConflict(d));
    }
    const merges = get("merge-version");
    if (merges.length > 0) {
      await this.#op(undefined, () => storeMerges(this.#ops, merges));
      this.#requeueMore(merges);
      this.#o.host.stored();
    }
    const depth = (p: string) => p.split("/").length;
    for (
      const d of get("mkdir").sort((a, b) => depth(a.path) - depth(b.path))
    ) {
      await this.#op(d, () => applyMkdir(this.#ops, d));
    }
    for (const d of get("symlink")) {
      await this.#op(d, () => applySymlink(this.#ops, d));
    }
    for (const d of get("metadata")) {
      await this.#op(d, () => applyMetadata(this.#ops, d));
    }
    const pulls: Decision[] = [...conflictPulls];
    for (const d of get("pull")) {
      if (d.local?.kind !== "dir" || d.local.deleted) pulls.push(d);
      else await this.#op(d, () => this.#clearDirectory(d));
    }
    const started = await this.#slots.start(pulls);
    const deletes = this.#massDelete.pass(get("delete"), this.#now());
    if (deletes.length > 0) {
      this.#queue.activate(deletes.map((d) => d.path));
      this.#track(
        Promise.allSettled(started).then(() =>
          applyDeleteRound(
            this.#ctx,
            this.#queue,
            this.#dirs,
            this.#massDelete.guard,
            deletes,
          )
        ),
      );
    }
    this.#o.host.stored();
  }

  /** Runs a quick action for `d` (or a batch when `d` is undefined), handling failures. */
  async #op(
    d: Decision | undefined,
    fn: () => Promise<void>,
  ): Promise<void> {
    if (this.#closed) return;
    try {
      await fn();
      if (d !== undefined) {
        this.#failures.settled(d.path);
        this.#requeueMore([d]);
      }
    } catch (err) {
      if (d === undefined) throw err;
      await this.#failures.failed(d.path, err);
    }
  }

  #requeueMore(ds: readonly Decision[]): void {
    const more = ds.filter((d) => d.more).map((d) => d.path);
    if (more.length > 0) this.enqueue(more);
  }

  async #resolveConflict(d: Decision): Promise<void> {
    await keepLocalLoser(this.#ctx, d);
    this.enqueue([d.path]);
  }

  /** A directory that is a file on the peer: removes it once empty, then pulls. */
  async #clearDirectory(d: Decision): Promise<void> {
    if (await clearDirectoryForFile(this.#ops, d) === "removed") {
      this.#dirs.cleared(d.path);
      this.enqueue([d.path]);
      return;
    }
    if (!this.#dirs.notEmpty(d.path, true)) {
      log.warn(
        "Not replacing directory {path} by the peer's file: it still holds entries",
        { path: d.path },
      );
    }
  }

  /** Plans `d.path` again now; a pull of the same content or undefined (requeued if other work). */
  #recheck(
    d: Decision,
    stored = { stat: this.#o.store.getStat(d.path) },
  ): Decision | undefined {
    // Unchanged local entry: the decision holds (news from peers requeue
    // the path anyway). The stat is much cheaper than planning again.
    if (sameLocal(stored.stat, d.local)) return d;
    const now = decidePath(this.#o, d.path);
    if (now === undefined) return undefined;
    if (now.action.kind === d.action.kind && now.action.kind === "pull") {
      return now;
    }
    if (d.action.kind === "conflict" && replacesInPlace(now)) return now;
    this.#queue.requeue(d.path);
    return undefined;
  }

  #track(task: Promise<void>): void {
    const t: Promise<void> = task
      .catch((err) =>
        log.error("Pull task failed: {error}", { error: String(err) })
      )
      .finally(() => {
        this.#tasks.delete(t);
        this.#queue.kick();
      });
    this.#tasks.add(t);
  }
}
