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
import {
  compare,
  type FileRecord,
  type IndexStore,
  parentRel,
  type StoredStat,
  toOsPath,
  type VersionVector,
} from "../../index/mod.ts";
import {
  appliedRecord,
  applyDeletes,
  type ApplyGate,
  applyMetadata,
  applyMkdir,
  applySymlink,
  assertDecisionCurrent,
  clearDirectoryForFile,
  conflictName,
  ContentMismatchError,
  type Decision,
  DirectoryNotEmptyError,
  DiskFullNotice,
  type EchoFilter,
  echoStateOf,
  isDiskFull,
  LocalChangeError,
  type LocalOpsContext,
  moveConflictLoser,
  PartFile,
  type PartTarget,
  renameConflictLoser,
  type SmallFile,
  storeMerges,
  syncDir,
  UnsafePathError,
  writeSmallFiles,
} from "../apply/mod.ts";
import type { LeftoverParts } from "./part_cleanup.ts";
import type { LocalChunkIndex } from "./chunk_source.ts";
import {
  ChunkFetcher,
  type ChunkSource,
  NoSourceError,
} from "./chunk_fetcher.ts";
import {
  ChunkHashMismatchError,
  ChunkUnavailableError,
  PeerGoneError,
} from "../session/mod.ts";
import { FailureBackoff } from "./failure_backoff.ts";
import { lastModifier, plan } from "./planner.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** The puller is closing; work in progress was abandoned. */
export class PullerClosedError extends Error {
  constructor() {
    super("The puller is closing");
    this.name = "PullerClosedError";
  }
}

/** Where a file records from the peers' records. */
export interface RemoteRecords {
  recordsFor(path: string): { replica: bigint; record: FileRecord }[];
  pendingPaths(after: string, limit: number): string[];
}

/** Options of {@linkcode Puller}. */
export interface PullerOptions {
  readonly folder: string;
  readonly store: IndexStore;
  readonly remote: RemoteRecords;
  readonly chunkIndex: LocalChunkIndex;
  readonly gate: ApplyGate;
  readonly echo: EchoFilter;
  /** Files (big) or groups of small files in flight at once. */
  readonly maxConcurrentTransfers: number;
  /** Connected peers that announced `path` with content `hash`. */
  readonly sourcesFor: (path: string, hash: Uint8Array) => ChunkSource[];
  /** Rescans paths (the owner runs the scanner under the gate and pushes what changed). */
  readonly rescan: (paths: string[]) => Promise<void>;
  /** New local records were stored: push them to peers. */
  readonly onStored: () => void;
  /** Whenever nothing is left to do. */
  readonly onIdle?: () => void;
  /** On a case-insensitive disk: the live local path `path` would collide with. */
  readonly caseTwin?: (path: string) => string | undefined;
  /** Clock in epoch ms (conflict copy names). */
  readonly now?: () => number;
  /** Files up to this size are pulled in groups (default 256 KiB). */
  readonly smallFileBytes?: number;
  /** Most files in a group (default 128). */
  readonly groupFiles?: number;
  /** Most bytes in a group (default 8 MiB). */
  readonly groupBytes?: number;
  /** Bytes of one big file in flight at once (default 1 MiB). */
  readonly fileWindowBytes?: number;
  /**
   * `.part` files kept to resume: a big file's pull starts from its
   * leftover, and a pull that fails for want of a peer (or because the
   * puller stops) leaves its `.part` here instead of removing it.
   */
  readonly leftovers?: LeftoverParts;
  /**
   * Start held: paths are queued but nothing is planned or fetched until
   * {@linkcode Puller.release} (the node's first full scan has to finish,
   * or files already here but not yet indexed would be fetched again).
   */
  readonly held?: boolean;
}

/** A file being pulled, for status displays. */
export interface Transfer {
  readonly path: string;
  bytesDone: number;
  readonly bytesTotal: number;
  /** Epoch ms. */
  readonly startedAt: number;
}

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
const MAX_LOCAL_CHANGE_RETRIES = 3;
const MAX_DIR_RETRIES = 5;
const RETRY_DELAY_MS = 1000;
/** After this many retry delays a path that kept changing locally is planned again. */
const LOCAL_CHANGE_PAUSE = 10;

/** No connected peer could serve a chunk (none had it, or it left or changed). */
function lacksSource(err: unknown): boolean {
  return err instanceof NoSourceError || err instanceof PeerGoneError ||
    err instanceof ChunkUnavailableError;
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** True when `stat` (stored now) still describes `record` (stored when decided). */
function sameLocal(
  stat: StoredStat | undefined,
  record: FileRecord | undefined,
): boolean {
  if (stat === undefined || record === undefined) {
    return stat === undefined && record === undefined;
  }
  return stat.deleted === record.deleted && stat.kind === record.kind &&
    stat.size === record.size && stat.exec === record.exec &&
    stat.mtimeMs === Number(record.mtimeNs / 1_000_000n) &&
    stat.inode === record.inode;
}

/**
 * A conflict the winner of which is a file and the loser a file or link:
 * pulled like any file, the loser moved aside in the step that puts the
 * winner in place.
 */
function replacesInPlace(d: Decision): boolean {
  return d.action.kind === "conflict" && d.action.winner === "remote" &&
    d.remote.kind === "file" && d.local !== undefined && !d.local.deleted &&
    d.local.kind !== "dir";
}

/** Short tag of the replica that made a conflict's losing edit. */
function conflictTag(
  loser: VersionVector,
  winner: VersionVector,
  fallback: bigint,
): string {
  return tagOf(lastModifier(loser, winner) ?? fallback);
}

/** A replica's tag in conflict names: the first 8 hex digits of its id, upper case. */
function tagOf(replica: bigint): string {
  return replica.toString(16).padStart(16, "0").slice(0, 8).toUpperCase();
}

/** Pulls what peers have and this folder lacks. */
export class Puller {
  readonly #o: PullerOptions;
  readonly #ops: LocalOpsContext;
  readonly #now: () => number;
  /** This replica's tag, for a local write found while a file was replaced. */
  get #localTag(): string {
    return tagOf(this.#o.store.replicaId);
  }
  readonly #queue = new Set<string>();
  readonly #active = new Set<string>();
  readonly #waiting = new Set<string>();
  readonly #localRetries = new Map<string, number>();
  readonly #dirRetries = new Map<string, number>();
  readonly #jobs = new Set<Promise<void>>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Retry timers pending per path. */
  readonly #retryPaths = new Map<string, number>();
  readonly #transfers = new Map<string, Transfer>();
  readonly #abort = new AbortController();
  /** Nothing is planned while held (see `PullerOptions.held`). */
  #held: boolean;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #loop: Promise<void>;
  #wake: (() => void) | undefined;
  #closed = false;
  #idle = true;
  /** A round is being planned or started (its paths are in no set meanwhile). */
  #inRound = false;
  /** Bumped whenever peers may serve more than before (see `retryWaiting`). */
  #sourceEpoch = 0;
  readonly #fetcher: ChunkFetcher;
  readonly #diskFull = new DiskFullNotice();
  readonly #failures = new FailureBackoff();
  #files = 0;

  constructor(options: PullerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#ops = {
      folder: options.folder,
      store: options.store,
      gate: options.gate,
      echo: options.echo,
    };
    this.#fetcher = new ChunkFetcher(options);
    this.#held = options.held ?? false;
    this.#loop = this.#run();
  }

  /** Starts planning and pulling what was queued while held. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#kick();
  }

  /** What was pulled so far. */
  get counters(): PullCounters {
    return {
      fetchedBytes: this.#fetcher.fetchedBytes,
      reusedBytes: this.#fetcher.reusedBytes,
      resumedBytes: this.#fetcher.resumedBytes,
      files: this.#files,
    };
  }

  /** Paths queued, in progress or waiting for a peer. */
  get pending(): number {
    const all = new Set([...this.#queue, ...this.#active, ...this.#waiting]);
    return all.size;
  }

  /** Paths queued or in progress, cheaply (a path may count twice). */
  get backlog(): number {
    return this.#queue.size + this.#active.size;
  }

  /** Paths waiting for a peer that can serve them. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Paths that failed and wait for a retry (the folders differ there). */
  get retrying(): number {
    return this.#retryPaths.size;
  }

  /** True when nothing is queued or in progress (waiting paths aside). */
  get idle(): boolean {
    return !this.#inRound && this.#queue.size === 0 &&
      this.#active.size === 0 && this.#jobs.size === 0 &&
      this.#tasks.size === 0;
  }

  /** Files being pulled now. */
  transfers(): Transfer[] {
    return [...this.#transfers.values()].map((t) => ({ ...t }));
  }

  /** Queues the paths of peer records that need work here (cheap pre-check). */
  offer(records: readonly FileRecord[]): void {
    const ctx = { localReplica: this.#o.store.replicaId };
    let added = false;
    for (const record of records) {
      const action = plan(this.#o.store.get(record.path), record, ctx);
      if (
        action.kind === "nothing" ||
        (action.kind === "conflict" && action.winner === "local")
      ) continue;
      this.#waiting.delete(record.path);
      this.#queue.add(record.path);
      added = true;
    }
    if (added) this.#kick();
  }

  /** Queues paths to be planned again. */
  enqueue(paths: Iterable<string>): void {
    for (const path of paths) {
      this.#waiting.delete(path);
      this.#queue.add(path);
    }
    this.#kick();
  }

  /** A peer became available: retry the paths that waited for one. */
  retryWaiting(): void {
    this.#sourceEpoch++;
    if (this.#waiting.size === 0) return;
    const paths = [...this.#waiting];
    this.#waiting.clear();
    this.enqueue(paths);
  }

  /** Queues every path where some peer's record differs from ours (after a restart). */
  async queuePendingFromIndex(): Promise<number> {
    let after = "";
    let count = 0;
    for (;;) {
      if (this.#closed) return count;
      const page = this.#o.remote.pendingPaths(after, 1000);
      this.enqueue(page);
      count += page.length;
      if (page.length < 1000) return count;
      after = page[page.length - 1]!;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
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
    this.#abort.abort(new PullerClosedError());
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#retryPaths.clear();
    this.#kick();
  }

  /** {@linkcode stop}, then waits for the tasks in progress to end. */
  async close(): Promise<void> {
    this.stop();
    await this.#loop;
    while (this.#jobs.size > 0 || this.#tasks.size > 0) {
      await Promise.allSettled([...this.#jobs, ...this.#tasks]);
    }
    this.#diskFull.close();
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #kick(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #checkIdle(): void {
    if (!this.idle) {
      this.#idle = false;
      return;
    }
    for (const wake of this.#idleWaiters.splice(0)) wake();
    if (!this.#idle) {
      this.#idle = true;
      this.#o.onIdle?.();
      this.#o.leftovers?.expire().catch(() => {});
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#held) {
        await this.#sleep();
        continue;
      }
      const round = this.#take(ROUND);
      if (round.length === 0) {
        this.#checkIdle();
        await this.#sleep();
        continue;
      }
      this.#idle = false;
      this.#inRound = true;
      try {
        await this.#runRound(round);
      } catch (err) {
        log.error("Pull round failed: {error}", { error: String(err) });
        for (const path of round) this.#retryLater(path);
      } finally {
        this.#inRound = false;
      }
    }
  }

  #take(limit: number): string[] {
    const out: string[] = [];
    for (const path of this.#queue) {
      if (this.#active.has(path)) continue;
      this.#queue.delete(path);
      this.#waiting.delete(path);
      out.push(path);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The most advanced peer record of `path` that wants work here, if any. */
  #decide(path: string): Decision | undefined {
    const local = this.#o.store.get(path);
    const ctx = { localReplica: this.#o.store.replicaId };
    let best: { remote: FileRecord; action: Decision["action"] } | undefined;
    let count = 0;
    for (const { record } of this.#o.remote.recordsFor(path)) {
      const action = plan(local, record, ctx);
      if (
        action.kind === "nothing" ||
        (action.kind === "conflict" && action.winner === "local")
      ) continue;
      count++;
      if (
        best === undefined ||
        compare(record.version, best.remote.version) === "greater"
      ) {
        best = { remote: record, action };
      }
    }
    if (best === undefined) return undefined;
    if ((local === undefined || local.deleted) && !best.remote.deleted) {
      const twin = this.#o.caseTwin?.(path);
      if (twin !== undefined) {
        log.warn(
          "Not creating {path}: it differs only in case from {twin} and this disk ignores case",
          { path, twin },
        );
        return undefined;
      }
    }
    return { path, local, ...best, more: count > 1 };
  }

  async #runRound(paths: string[]): Promise<void> {
    await this.#o.chunkIndex.refresh();
    const byKind = new Map<string, Decision[]>();
    for (const path of paths) {
      const d = this.#decide(path);
      if (d === undefined) continue;
      const kind = d.action.kind;
      let list = byKind.get(kind);
      if (list === undefined) byKind.set(kind, list = []);
      list.push(d);
    }
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
      this.#o.onStored();
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
    const started = await this.#startFiles(pulls);
    const deletes = get("delete");
    if (deletes.length > 0) {
      for (const d of deletes) this.#active.add(d.path);
      this.#track(
        Promise.allSettled(started).then(() => this.#deletes(deletes)),
      );
    }
    this.#o.onStored();
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
        this.#localRetries.delete(d.path);
        this.#requeueMore([d]);
      }
    } catch (err) {
      if (d === undefined) throw err;
      await this.#failed(d.path, err);
    }
  }

  #requeueMore(ds: readonly Decision[]): void {
    const more = ds.filter((d) => d.more).map((d) => d.path);
    if (more.length > 0) this.enqueue(more);
  }

  /** The name the losing local copy of `d.path` is kept under. */
  #copyName(d: Decision): string {
    return conflictName(
      d.path,
      new Date(this.#now()),
      conflictTag(d.local!.version, d.remote.version, this.#o.store.replicaId),
    );
  }

  async #resolveConflict(d: Decision): Promise<void> {
    const copy = this.#copyName(d);
    await renameConflictLoser(this.#ops, d, copy);
    log.info("Conflict on {path}: the local copy lost and was kept as {copy}", {
      path: d.path,
      copy,
    });
    await this.#o.rescan([d.path, copy]);
    this.enqueue([d.path]);
  }

  /** A directory that is a file on the peer: removes it once empty, then pulls. */
  async #clearDirectory(d: Decision): Promise<void> {
    if (await clearDirectoryForFile(this.#ops, d) === "removed") {
      this.#dirRetries.delete(d.path);
      this.enqueue([d.path]);
      return;
    }
    const tries = (this.#dirRetries.get(d.path) ?? 0) + 1;
    this.#dirRetries.set(d.path, tries);
    if (tries <= MAX_DIR_RETRIES) this.#retryLater(d.path, tries);
    else {
      this.#dirRetries.delete(d.path);
      log.warn(
        "Not replacing directory {path} by the peer's file: it still holds entries",
        { path: d.path },
      );
    }
  }

  async #deletes(ds: Decision[]): Promise<void> {
    try {
      if (this.#closed) return;
      // Plan again: the files pulled meanwhile may have changed things.
      const fresh: Decision[] = [];
      for (const d of ds) {
        const now = this.#decide(d.path);
        if (now?.action.kind === "delete") {
          await this.#o.leftovers?.discard(d.path);
          fresh.push(now);
        } else if (now !== undefined) this.#queue.add(d.path);
      }
      const outcome = await applyDeletes(this.#ops, fresh);
      for (const path of outcome.done) {
        this.#localRetries.delete(path);
        this.#dirRetries.delete(path);
      }
      this.#requeueMore(fresh.filter((d) => outcome.done.includes(d.path)));
      for (const path of outcome.notEmpty) {
        const tries = (this.#dirRetries.get(path) ?? 0) + 1;
        this.#dirRetries.set(path, tries);
        if (tries <= MAX_DIR_RETRIES) this.#retryLater(path, tries);
        else {
          log.info("Keeping directory {path}: it still holds entries", {
            path,
          });
        }
      }
      for (const { path, error } of outcome.failed) {
        await this.#failed(path, error);
      }
      if (outcome.done.length > 0) this.#o.onStored();
    } finally {
      for (const d of ds) this.#active.delete(d.path);
      this.#kick();
    }
  }

  /** Starts pull jobs, waiting for free transfer slots; returns the jobs started. */
  async #startFiles(ds: Decision[]): Promise<Promise<void>[]> {
    const small = this.#o.smallFileBytes ?? 256 * 1024;
    const groupFiles = this.#o.groupFiles ?? 128;
    const groupBytes = this.#o.groupBytes ?? 8 << 20;
    const started: Promise<void>[] = [];
    let group: Decision[] = [];
    let bytes = 0;
    const launch = async (job: () => Promise<void>, paths: string[]) => {
      while (this.#jobs.size >= Math.max(1, this.#o.maxConcurrentTransfers)) {
        await Promise.race(this.#jobs);
      }
      for (const p of paths) this.#active.add(p);
      const run: Promise<void> = job()
        .catch((err) =>
          log.error("Pull job failed: {error}", { error: String(err) })
        )
        .finally(() => {
          for (const p of paths) this.#active.delete(p);
          this.#jobs.delete(run);
          this.#kick();
        });
      this.#jobs.add(run);
      started.push(run);
    };
    for (const d of ds) {
      if (this.#closed) break;
      if (d.remote.size > small || d.action.kind === "conflict") {
        await launch(() => this.#pullOne(d), [d.path]);
        continue;
      }
      group.push(d);
      bytes += d.remote.size;
      if (group.length >= groupFiles || bytes >= groupBytes) {
        const g = group;
        group = [];
        bytes = 0;
        await launch(() => this.#pullGroup(g), g.map((x) => x.path));
      }
    }
    if (group.length > 0 && !this.#closed) {
      const g = group;
      await launch(() => this.#pullGroup(g), g.map((x) => x.path));
    }
    return started;
  }

  /** Plans `d.path` again now; a pull of the same content or undefined (requeued if other work). */
  #recheck(d: Decision): Decision | undefined {
    // Unchanged local entry: the decision holds (news from peers requeue
    // the path anyway). The stat is much cheaper than planning again.
    if (sameLocal(this.#o.store.getStat(d.path), d.local)) return d;
    const now = this.#decide(d.path);
    if (now === undefined) return undefined;
    if (now.action.kind === d.action.kind && now.action.kind === "pull") {
      return now;
    }
    if (d.action.kind === "conflict" && replacesInPlace(now)) return now;
    this.#queue.add(d.path);
    return undefined;
  }

  /** A `.part` for `d`: its leftover resumed, if any, else a new one. */
  async #openPart(d: Decision): Promise<PartFile> {
    const target: PartTarget = {
      folder: this.#o.folder,
      path: d.path,
      size: d.remote.size,
      hash: d.remote.hash,
      chunks: d.remote.chunks,
      mtimeNs: d.remote.mtimeNs,
      exec: d.remote.exec,
      expected: this.#o.store.getStat(d.path),
      conflictTag: this.#localTag,
    };
    const leftover = this.#o.leftovers?.take(d.path);
    if (leftover !== undefined) {
      let part: PartFile | undefined;
      try {
        part = await PartFile.resume(target, leftover.os);
      } catch (err) {
        log.debug("Cannot resume {path}: {error}", {
          path: d.path,
          error: String(err),
        });
      }
      if (part !== undefined) {
        log.info("Resuming {path} from a .part holding {bytes} bytes", {
          path: d.path,
          bytes: part.resumable,
        });
        return part;
      }
      await Deno.remove(leftover.os).catch(() => {});
    }
    return await PartFile.create(target);
  }

  /**
   * After a failed pull: keeps the `.part` for resuming when the pull
   * stopped for want of a peer or because the puller is closing (every
   * chunk in it was verified), else removes it (a full disk wants the
   * space back; a local failure or a bad whole file, a fresh start).
   */
  async #parkOrAbort(
    path: string,
    part: PartFile,
    err: unknown,
  ): Promise<void> {
    const leftovers = this.#o.leftovers;
    const resumable = this.#closed || err instanceof PullerClosedError ||
      err instanceof ChunkHashMismatchError || lacksSource(err);
    if (leftovers === undefined || !resumable) {
      await part.abort();
      return;
    }
    const size = await part.detach();
    if (size > 0) {
      await leftovers.park(path, part.partPath, size);
    } else {
      await Deno.remove(part.partPath).catch(() => {});
    }
  }

  async #pullOne(planned: Decision): Promise<void> {
    const d = this.#recheck(planned);
    if (d === undefined || this.#closed) return;
    const epoch = this.#sourceEpoch;
    const transfer = this.#startTransfer(d);
    let part: PartFile | undefined;
    try {
      part = await this.#openPart(d);
      await this.#fetcher.fill(
        d.remote,
        part,
        this.#o.fileWindowBytes ?? 1 << 20,
        this.#abort.signal,
        (n) => transfer.bytesDone += n,
      );
      this.#abort.signal.throwIfAborted();
      await part.prepare();
      const p = part;
      const copy = d.action.kind === "conflict" ? this.#copyName(d) : undefined;
      await this.#o.gate.run(async () => {
        assertDecisionCurrent(this.#o.store, d);
        if (copy !== undefined) await moveConflictLoser(this.#ops, d, copy);
        const info = await p.rename();
        this.#o.store.put(appliedRecord(d, info));
        this.#o.echo.remember(d.path, echoStateOf(info, d.remote.hash));
      });
      if (copy !== undefined) {
        log.info(
          "Conflict on {path}: the local copy lost and was kept as {copy}",
          { path: d.path, copy },
        );
        await this.#o.rescan([copy]);
      }
      await syncDirQuietly(toOsPath(this.#o.folder, parentRel(d.path)));
      log.debug("Pulled {path} ({size} bytes) in {ms} ms", {
        path: d.path,
        size: d.remote.size,
        ms: Math.round(this.#now() - transfer.startedAt),
      });
      this.#files++;
      this.#diskFull.clear();
      this.#localRetries.delete(d.path);
      this.#requeueMore([d]);
      this.#o.onStored();
    } catch (err) {
      if (part !== undefined) await this.#parkOrAbort(d.path, part, err);
      await this.#failed(d.path, err, epoch);
    } finally {
      this.#transfers.delete(d.path);
    }
  }

  async #pullGroup(planned: Decision[]): Promise<void> {
    const epoch = this.#sourceEpoch;
    const failures: { path: string; error: unknown }[] = [];
    const files: SmallFile[] = [];
    const byPath = new Map<string, Decision>();
    try {
      await Promise.all(planned.map(async (p) => {
        const d = this.#recheck(p);
        if (d === undefined || this.#closed) return;
        await this.#o.leftovers?.discard(d.path);
        const transfer = this.#startTransfer(d);
        try {
          const data = await this.#fetcher.assemble(
            d.remote,
            this.#abort.signal,
            (n) => transfer.bytesDone += n,
          );
          byPath.set(d.path, d);
          files.push({
            path: d.path,
            data,
            hash: d.remote.hash,
            chunks: d.remote.chunks,
            mtimeNs: d.remote.mtimeNs,
            exec: d.remote.exec,
            expected: this.#o.store.getStat(d.path),
            conflictTag: this.#localTag,
            check: () => assertDecisionCurrent(this.#o.store, d),
          });
        } catch (err) {
          failures.push({ path: d.path, error: err });
        }
      }));
      this.#abort.signal.throwIfAborted();
      if (files.length > 0) {
        const outcomes = await writeSmallFiles(
          this.#o.folder,
          files,
          (rename) =>
            this.#o.gate.run(() => {
              const records: FileRecord[] = [];
              for (const outcome of rename()) {
                if (!outcome.ok) continue;
                const d = byPath.get(outcome.path)!;
                records.push(appliedRecord(d, outcome.info));
                this.#o.echo.remember(
                  d.path,
                  echoStateOf(outcome.info, d.remote.hash),
                );
              }
              this.#o.store.putMany(records);
              this.#files += records.length;
              if (records.length > 0) this.#diskFull.clear();
            }),
        );
        for (const outcome of outcomes) {
          if (outcome.ok) this.#localRetries.delete(outcome.path);
          else failures.push({ path: outcome.path, error: outcome.error });
        }
        this.#requeueMore([...byPath.values()]);
        this.#o.onStored();
      }
    } catch (err) {
      for (const f of files) failures.push({ path: f.path, error: err });
    } finally {
      for (const d of planned) this.#transfers.delete(d.path);
    }
    for (const { path, error } of failures) {
      await this.#failed(path, error, epoch);
    }
  }

  #startTransfer(d: Decision): Transfer {
    const transfer: Transfer = {
      path: d.path,
      bytesDone: 0,
      bytesTotal: d.remote.size,
      startedAt: this.#now(),
    };
    this.#transfers.set(d.path, transfer);
    return transfer;
  }

  /**
   * Decides what becomes of a path whose action failed; `epoch` is the
   * source epoch when the action started (a peer that said hello since may
   * serve what failed).
   */
  async #failed(
    path: string,
    err: unknown,
    epoch = this.#sourceEpoch,
  ): Promise<void> {
    if (this.#closed) return;
    const error = errorOf(err);
    if (error instanceof LocalChangeError) {
      const tries = (this.#localRetries.get(path) ?? 0) + 1;
      this.#localRetries.set(path, tries);
      if (tries > MAX_LOCAL_CHANGE_RETRIES) {
        log.warn(
          "{path} keeps changing locally; trying again in {seconds} s",
          { path, seconds: LOCAL_CHANGE_PAUSE * RETRY_DELAY_MS / 1000 },
        );
        this.#localRetries.delete(path);
        this.#retryLater(path, LOCAL_CHANGE_PAUSE);
        return;
      }
      log.debug("{path} changed locally; rescanning it first ({message})", {
        path,
        message: error.message,
      });
      try {
        await this.#o.rescan([path]);
      } catch (scanError) {
        log.warn("Cannot rescan {path}: {error}", {
          path,
          error: String(scanError),
        });
      }
      this.enqueue([path]);
      return;
    }
    if (error instanceof UnsafePathError) {
      log.warn("Not applying {path}: {message}", {
        path,
        message: error.message,
      });
      return;
    }
    if (
      error instanceof ContentMismatchError ||
      error instanceof ChunkHashMismatchError ||
      lacksSource(error)
    ) {
      if (epoch !== this.#sourceEpoch || this.#queue.has(path)) {
        this.enqueue([path]); // a peer came (or news arrived) meanwhile
        return;
      }
      log.debug(
        "{path} waits for a peer that can serve it: {name}: {message}",
        {
          path,
          name: error.name,
          message: error.message,
        },
      );
      this.#waiting.add(path);
      return;
    }
    if (error instanceof DirectoryNotEmptyError) {
      log.info("Not replacing {path}: {message}", {
        path,
        message: error.message,
      });
      return;
    }
    if (isDiskFull(error)) {
      this.#diskFull.report(path, error, RETRY_DELAY_MS * 10);
      this.#retryLater(path, 10);
      return;
    }
    const retry = this.#failures.failed(path, this.#now());
    const props = {
      path,
      name: error.name,
      message: error.message,
      seconds: Math.round(retry.delayMs / 1000),
    };
    if (retry.warn) {
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
    this.#retryLater(path, retry.delayMs / RETRY_DELAY_MS);
  }

  #retryLater(path: string, factor = 1): void {
    if (this.#closed) return;
    this.#retryPaths.set(path, (this.#retryPaths.get(path) ?? 0) + 1);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const left = (this.#retryPaths.get(path) ?? 1) - 1;
      if (left > 0) this.#retryPaths.set(path, left);
      else this.#retryPaths.delete(path);
      this.enqueue([path]);
    }, RETRY_DELAY_MS * factor);
    this.#timers.add(timer);
  }

  #track(task: Promise<void>): void {
    const t: Promise<void> = task
      .catch((err) =>
        log.error("Pull task failed: {error}", { error: String(err) })
      )
      .finally(() => {
        this.#tasks.delete(t);
        this.#kick();
      });
    this.#tasks.add(t);
  }
}

async function syncDirQuietly(os: string): Promise<void> {
  try {
    await syncDir(os);
  } catch {
    // The rename happened; a failed directory fsync only weakens durability.
  }
}
