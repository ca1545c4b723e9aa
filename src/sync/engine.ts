/**
 * The sync engine of one folder: a `PeerSession` per connected peer (index
 * exchange), a `ChunkResponder` per peer (serving our chunks), one
 * {@linkcode Puller} (bringing theirs here), the remote index they share,
 * and the gate that keeps the scanner from mistaking our own writes for
 * edits. The node feeds it local changes (`scan`, `onLocalChanges`) and a
 * connection pool (`attach`); it also carries the folder's mode, pause and
 * mass-delete acceptance to the puller and the sessions.
 *
 * A peer's file, followed by calls: the session (wired in
 * `peer_wiring.ts`) stores the peer's records in the remote index and
 * offers them to the puller (`PeerLine.records` → `Puller.offer`,
 * `pull/puller.ts`); the puller plans each path (`pull/decision.ts`,
 * `pull/planner.ts`) and hands files to `pull/file_pull.ts` or
 * `pull/group_pull.ts`, whose chunk fetcher asks the
 * {@linkcode ConnectedPeers} directory who can serve them and requests the
 * chunks through their sessions (`session/chunk_requests.ts`); the bytes go
 * to disk in the apply room (`apply/atomic_writer.ts`,
 * `apply/small_file_batch.ts`), and the puller tells the engine through
 * its `PullerHost` (`stored` → `onLocalChanges`). A local edit goes the
 * other way: the node's watcher calls `scan`, and every session pushes the
 * new sequences (`PeerSession.notifyLocalChanges`); on the peer they arrive
 * as the records above. A peer's chunk requests reach our
 * `ChunkResponder` through `PeerLine.handle` (`peer_wiring.ts`).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  emptyScanSummary,
  type FileRecord,
  RemoteIndex,
  type ScanSummary,
  toOsPath,
} from "../index/mod.ts";
import { LOCAL_NAMING_RULES, type NamingRules } from "../protocol/mod.ts";
import { ApplyGate, EchoFilter, echoStateOf } from "./apply/mod.ts";
import { CaseFoldIndex, detectCaseInsensitive } from "./session/mod.ts";
import {
  type FolderMode,
  type LeftoverParts,
  LocalChunkIndex,
  Puller,
  type PullerHost,
} from "./pull/mod.ts";
import { PauseSwitch } from "./pause_switch.ts";
import type { VersionKeeper } from "../versions/mod.ts";
import {
  type ModeContext,
  overrideGroup,
  revertLocalChanges,
  type RevertOutcome,
} from "./mode_actions.ts";
import { LocalChanges } from "./local_changes.ts";
import {
  dropLeftoversWhenCaughtUp,
  PeerLine,
  type PeerWiring,
} from "./peer_wiring.ts";
import { pathsToReplan, RescanSoon, untilIdle } from "./rescans.ts";
import { ConnectedPeers } from "./peer_directory.ts";
import {
  describeReason,
  type PeerChannel,
  type PeerPool,
  type PeerPoolEvents,
} from "./peer_pool.ts";
import type { SyncEngineOptions } from "./engine_options.ts";

export type { SyncEngineOptions } from "./engine_options.ts";
import type { RunTotals, SyncStatus } from "./status.ts";

const log = getLogger(["dsync", "sync"]);
/**
 * How stale the totals of a status may be while files are pulled: counting
 * them reads every record (20 ms at 100,000 under load), a status is
 * asked for every second or more often, and during a pull each ask found
 * a new sequence (3 s of a receiver's main thread for 100,000 files).
 * Otherwise they are exact.
 */
const PULLING_TOTALS_MAX_AGE_MS = 5000;

/** What the puller calls: scans under the gate, announcements to every peer. */
function pullerHost(
  engine: SyncEngine,
  peers: ConnectedPeers,
  leftovers: LeftoverParts | undefined,
): PullerHost {
  return {
    rescan: async (paths) => {
      await engine.scan(paths);
    },
    stored: () => engine.onLocalChanges(),
    idle: () => {
      for (const peer of peers.all()) peer.session?.sendInSync();
      dropLeftoversWhenCaughtUp(leftovers, peers);
    },
  };
}

type PathVersion = Pick<FileRecord, "path" | "version">;

/** Keeps one folder in sync with the peers of a pool. */
export class SyncEngine {
  readonly #o: SyncEngineOptions;
  readonly #remote: RemoteIndex;
  readonly #gate = new ApplyGate();
  readonly #echo: EchoFilter;
  readonly #pause = new PauseSwitch();
  readonly #chunkIndex: LocalChunkIndex;
  readonly #caseFold: CaseFoldIndex | undefined;
  readonly #caseInsensitive: boolean;
  readonly #puller: Puller;
  readonly #peers: ConnectedPeers;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #rescanSoon = new RescanSoon((paths) => this.scan(paths));
  #closed = false;
  /** Whether a full scan has completed (peers may connect before). */
  #indexed = false;
  #closing: Promise<void> | undefined;
  #quietScan: Promise<ScanSummary> | undefined;
  #startup: Promise<unknown> = Promise.resolve();
  readonly #now: () => number;
  readonly #rules: NamingRules;
  readonly #localChanges: LocalChanges;
  readonly #wiring: PeerWiring;
  readonly #modeContext: ModeContext;
  #totals: RunTotals | undefined;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#rules = options.namingRules ?? LOCAL_NAMING_RULES;
    this.#echo = new EchoFilter({
      onRemember: (path, _state, device) => options.onApplied?.(path, device),
    });
    this.#remote = RemoteIndex.of(options.store);
    this.#peers = new ConnectedPeers(this.#remote, this.#now);
    this.#localChanges = new LocalChanges({
      mode: options.mode ?? "send-receive",
      store: options.store,
      remote: this.#remote,
      now: this.#now,
    });
    this.#caseInsensitive = options.caseInsensitive ??
      detectCaseInsensitive(options.folder);
    this.#caseFold = this.#caseInsensitive
      ? new CaseFoldIndex(this.#remote)
      : undefined;
    this.#chunkIndex = new LocalChunkIndex(options.store);
    const caseTwin = this.#caseFold === undefined
      ? undefined
      : (path: string) => this.#caseFold!.twin(path);
    this.#puller = new Puller({
      folder: options.folder,
      store: options.store,
      remote: this.#remote,
      chunkIndex: this.#chunkIndex,
      gate: this.#gate,
      echo: this.#echo,
      maxConcurrentTransfers: options.maxConcurrentTransfers,
      peers: this.#peers,
      host: pullerHost(this, this.#peers, options.leftovers),
      held: true,
      ...(caseTwin === undefined ? {} : { caseTwin }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.leftovers === undefined
        ? {}
        : { leftovers: options.leftovers }),
      ...(options.versions === undefined ? {} : { versions: options.versions }),
      sourceOf: (r) => this.#closed ? undefined : this.#peers.sourceOf(r),
      ...(options.onDiskFull === undefined
        ? {}
        : { onDiskFull: options.onDiskFull }),
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      liveFiles: () => this.#remote.localTotals().files,
      keptElsewhere: (deletes) => this.#remote.contentKeptElsewhere(deletes),
      nameOf: (replica) => this.#peers.nameOf(replica),
      partials: this.#peers.partials,
    });
    this.#modeContext = {
      ...options,
      remote: this.#remote,
      gate: this.#gate,
      echo: this.#echo,
    };
    this.#wiring = {
      options,
      remote: this.#remote,
      puller: this.#puller,
      pause: this.#pause,
      caseInsensitive: this.#caseInsensitive,
      rules: this.#rules,
      caseTwin,
      withhold: options.mode === "receive-only"
        ? (record) => this.#localChanges.withholds(record)
        : undefined,
      changed: this.#rescanSoon,
      gate: this.#gate,
      announce: () => this.onLocalChanges(),
      partials: this.#peers.partials,
      announcer: this.#peers.announcer,
      caughtUp: () => dropLeftoversWhenCaughtUp(options.leftovers, this.#peers),
      scanning: () => options.scanner.running,
    };
  }

  /** Whether the folder's disk ignores case (probed at start). */
  get caseInsensitive(): boolean {
    return this.#caseInsensitive;
  }

  /**
   * Subscribes to the pool's peers and messages, and queues the pulls a
   * restart interrupted (the remote index remembers what peers have). Call
   * it once the initial scan is done.
   */
  attach(pool: PeerPool): void {
    if (this.#closed) throw new Error("Cannot attach a closed sync engine");
    this.#startup = this.#puller.queuePendingFromIndex().catch((err) =>
      log.error("Cannot resume pending pulls: {error}", { error: String(err) })
    );
    this.#unsubscribe.push(
      pool.on("peer-connected", (e) => this.#connected(e.peerId, e.channel)),
      pool.on(
        "peer-disconnected",
        (e) => this.#disconnected(e.peerId, e.reason),
      ),
      pool.on("message", (e) =>
        // Long work is queued, never awaited, or request/response here would
        // deadlock; only a timed pause (the peer's quota) is returned.
        this.#peers.get(e.peerId)?.session?.receive(e.message)),
    );
  }

  /** The local index got new sequences: push them to every peer. */
  onLocalChanges(): void {
    if (this.#closed) return;
    for (const peer of this.#peers.all()) peer.session?.notifyLocalChanges();
  }

  /**
   * Stops every transfer and announcement, keeping the connections and
   * the queued work: pulls in progress are set aside (big files resume
   * from their `.part`), peers' chunk requests wait unanswered, local
   * changes are not announced. {@linkcode resume} carries on.
   */
  pause(): void {
    this.#pause.pause();
    this.#puller.pause();
  }

  /** Carries on after {@linkcode pause}. */
  resume(): void {
    this.#pause.resume();
    this.#puller.resume();
    this.onLocalChanges();
  }

  /** Whether {@linkcode pause} holds the engine. */
  get paused(): boolean {
    return this.#pause.paused;
  }

  /**
   * Applies the deletes the mass-delete guard held (`dsync resume
   * --accept-deletes`); returns how many.
   */
  acceptDeletes(): number {
    return this.#puller.acceptDeletes();
  }

  /** Which way changes flow. */
  get mode(): FolderMode {
    return this.#o.mode ?? "send-receive";
  }

  /**
   * The local changes a receive-only folder keeps from the group: paths
   * whose record no peer has. Reads the whole index (at most every few
   * seconds; `status()` reports the last count).
   */
  localChanges(): number {
    return this.#localChanges.count();
  }

  /**
   * Send-only: makes this folder's state of every path that differs from
   * the group win, so the peers apply it. Returns the paths announced.
   */
  async override(): Promise<string[]> {
    const paths = await overrideGroup(this.#modeContext, [
      ...this.#puller.heldBack,
    ]);
    this.onLocalChanges();
    this.#puller.enqueue(paths);
    return paths;
  }

  /**
   * Receive-only: drops the local changes (files kept in `versions`) and
   * pulls the group's versions of those paths.
   */
  async revert(versions: VersionKeeper): Promise<RevertOutcome> {
    const outcome = await revertLocalChanges(this.#modeContext, versions);
    this.#localChanges.forget();
    this.#puller.enqueue(outcome.reverted);
    return outcome;
  }

  /**
   * Runs `step` (a local change made for the user, such as a restore)
   * under the gate, so no peer's change is put in place meanwhile, then
   * scans `paths` so the change is recorded and announced at once.
   */
  async applyLocal<T>(
    paths: readonly string[],
    step: () => Promise<T>,
  ): Promise<T> {
    const result = await this.#gate.run(step);
    await this.scan(paths);
    return result;
  }

  /**
   * Scans the whole folder or the given paths under the gate (never while
   * the puller puts a file in place), then pushes what changed.
   */
  async scan(paths: readonly string[] | "full"): Promise<ScanSummary> {
    let recorded: [number, number] = [0, 0];
    const summary = await this.#gate.run(async () => {
      // Closing: what changed is found by the next start's full scan.
      if (this.#closed) return emptyScanSummary();
      const before = this.#o.store.maxSequence;
      const result = paths === "full"
        ? await this.#o.scanner.scan()
        : await this.#o.scanner.scanPaths(paths);
      // Under the gate nothing else stores: these sequences are the scan's.
      recorded = [before, this.#o.store.maxSequence];
      return result;
    });
    if (paths === "full" && !this.#indexed) {
      this.#indexed = true;
      this.#puller.release();
    } else if (recorded[1] > recorded[0]) {
      const paths = pathsToReplan(this.#remote, recorded[0], recorded[1]);
      if (paths.length > 0) this.#puller.enqueue(paths);
    }
    this.onLocalChanges();
    return summary;
  }

  /**
   * A full scan once the puller has nothing in progress, or after
   * `maxDelayMs` at the latest. For watcher overflows: our own writes
   * during a big pull overflow the OS event queue, and a full scan per
   * overflow would rescan the folder over and over while it fills. A user
   * edit meanwhile is not lost: the puller never replaces an entry that
   * differs from the index, and this scan finds it.
   */
  async scanWhenQuiet(maxDelayMs = 30_000): Promise<ScanSummary> {
    this.#quietScan ??= (async () => {
      // Without this await an idle puller clears #quietScan below before
      // `??=` stores the promise, and every later call reuses that one.
      await Promise.resolve();
      await untilIdle(this.#puller, () => this.#closed, maxDelayMs);
      this.#quietScan = undefined;
      return await this.scan("full");
    })();
    return await this.#quietScan;
  }

  /** True when `path` on disk is exactly what the engine itself just left there. */
  isEcho(path: string): boolean {
    let state;
    try {
      state = echoStateOf(Deno.lstatSync(toOsPath(this.#o.folder, path)));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return false;
      state = "absent" as const;
    }
    return this.#echo.isEcho(path, state);
  }

  /**
   * Hands the group's new secret to every connected peer but `except`
   * (peer ids as hex); resolves with how many were sent.
   */
  async sendGroupRekey(
    secret: Uint8Array,
    removed: Uint8Array,
    except: ReadonlySet<string>,
  ): Promise<number> {
    return await this.#peers.sendGroupRekey(secret, removed, except);
  }

  /** Paths the puller has queued or in progress (cheap, approximate). */
  get pullBacklog(): number {
    return this.#puller.backlog;
  }

  /** A snapshot for the UI. */
  status(): SyncStatus {
    const { peers, allExchanged, received, sent } = this.#peers.status();
    const pending = this.#puller.pending;
    return {
      peers,
      transfers: this.#puller.transfers(),
      totals: this.#remote.localTotals(
        pending > 0 ? PULLING_TOTALS_MAX_AGE_MS : 0,
      ),
      pending,
      retrying: this.#puller.retrying,
      indexing: !this.#indexed,
      inSync: this.#indexed && pending === 0 && this.#puller.idle &&
        allExchanged && this.#puller.retrying === 0,
      bytesReceived: received,
      bytesSent: sent,
      bytesReused: this.#puller.counters.reusedBytes,
      paused: this.paused,
      deletesHeld: this.#puller.deletes.held,
      deletesSettling: this.#puller.deletes.settling,
      mode: this.mode,
      differing: this.mode === "send-only" ? this.#puller.heldBack.size : 0,
      // Counted by localChanges() (status requests), not at every redraw.
      localChanges: this.#localChanges.last,
    };
  }

  /** Who sent the changes `records` (distinct paths) applied here, by path. */
  sourcesOf(records: readonly PathVersion[]): Map<string, string> {
    if (this.#closed) return new Map();
    return this.#peers.sourcesOf(records);
  }

  /**
   * Live files and bytes of ours that the peer with replica id `replica`
   * (hex) holds in the same version, as far as its index says.
   */
  heldBy(replica: string): { files: number; bytes: number } {
    if (this.#closed) return { files: 0, bytes: 0 };
    return this.#peers.heldBy(replica);
  }

  /** What the run moved, once `close()` resolved (the node logs it). */
  get totals(): RunTotals | undefined {
    return this.#totals;
  }

  /** Stops: no new work, downloads abandoned cleanly, tasks awaited. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#rescanSoon.close();
    await this.#startup;
    this.#pause.close();
    this.#puller.stop();
    // Ends the chunk requests in flight, so abandoned downloads finish now.
    const responders = this.#peers.retireAll("shutting down");
    await this.#puller.close();
    await Promise.allSettled(responders);
    await this.#gate.run(() => {}); // scans in progress end first
    const status = this.status();
    this.#totals = {
      received: status.bytesReceived,
      sent: status.bytesSent,
      reused: status.bytesReused,
      resumed: this.#puller.counters.resumedBytes,
    };
  }

  #connected(peerId: Uint8Array, channel: PeerChannel): void {
    if (this.#closed) return;
    const peer = this.#peers.arrive(peerId, channel);
    new PeerLine(this.#wiring, peerId, channel, peer);
  }

  #disconnected(
    peerId: Uint8Array,
    reason: PeerPoolEvents["peer-disconnected"]["reason"],
  ): void {
    const peer = this.#peers.get(peerId);
    if (peer === undefined || peer.session === undefined) return;
    if (reason.kind !== "replaced") {
      log.info("Peer {name} ({fingerprint}) disconnected: {reason}", {
        name: peer.name ?? "(no hello)",
        fingerprint: peer.fingerprint,
        reason: describeReason(reason),
      });
    }
    this.#peers.retire(peer, describeReason(reason));
  }
}
