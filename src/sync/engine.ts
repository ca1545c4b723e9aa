/**
 * The sync engine of one folder: a {@linkcode PeerSession} per connected
 * peer (index exchange), a {@linkcode ChunkResponder} per peer (serving our
 * chunks), one {@linkcode Puller} (bringing theirs here), the remote index
 * they share, and the gate that keeps the scanner from mistaking our own
 * writes for edits. The node feeds it local changes (`scan`,
 * `onLocalChanges`) and a connection pool (`attach`).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  compare,
  emptyScanSummary,
  type FileRecord,
  type IgnoreRules,
  type IndexStore,
  RemoteIndex,
  type Scanner,
  type ScanSummary,
  toHex,
  toOsPath,
} from "../index/mod.ts";
import { fingerprint } from "../identity/mod.ts";
import { LOCAL_NAMING_RULES, type NamingRules } from "../protocol/mod.ts";
import { ApplyGate, EchoFilter, echoStateOf } from "./apply/mod.ts";
import {
  CaseFoldIndex,
  ChunkResponder,
  detectCaseInsensitive,
  fromWireRecord,
  IndexChunkLookup,
  PeerSession,
} from "./session/mod.ts";
import {
  type ChunkSource,
  type LeftoverParts,
  LocalChunkIndex,
  Puller,
  type Transfer,
} from "./pull/mod.ts";
import { PauseSwitch } from "./pause_switch.ts";
import type { VersionKeeper } from "../versions/mod.ts";
import { type FolderMode, isLocalChange, withholds } from "./pull/mod.ts";
import {
  overrideGroup,
  revertLocalChanges,
  type RevertOutcome,
} from "./mode_actions.ts";

const log = getLogger(["dsync", "sync"]);

/** The connection as the engine uses it (a `SecureChannel` fits). */
export interface PeerChannel {
  /** The peer's stable device key (its fingerprint is what people see). */
  readonly peerDevice?: Uint8Array;
  /** `host:port` of the other end, for status displays. */
  readonly remoteAddr?: string;
  /** One message, maybe in pieces (sent as their concatenation). */
  send(message: Uint8Array | readonly Uint8Array[]): Promise<void>;
  abort(error: Error): void;
}

/** Events the engine subscribes to (a `ConnectionPool`'s). */
export interface PeerPoolEvents {
  "peer-connected": { peerId: Uint8Array; channel: PeerChannel };
  "peer-disconnected": {
    peerId: Uint8Array;
    reason: { kind: string; reason?: string; error?: Error };
  };
  "message": { peerId: Uint8Array; message: Uint8Array };
}

/** The connection pool as the engine uses it (`ConnectionPool` fits). */
export interface PeerPool {
  on<K extends keyof PeerPoolEvents>(
    type: K,
    handler: (event: PeerPoolEvents[K]) => void | Promise<void>,
  ): () => void;
}

/** Options of {@linkcode SyncEngine}. */
export interface SyncEngineOptions {
  /** Absolute path of the synced folder. */
  readonly folder: string;
  readonly store: IndexStore;
  readonly scanner: Scanner;
  readonly ignore: IgnoreRules;
  /** Big files (or groups of small ones) pulled at once. */
  readonly maxConcurrentTransfers: number;
  /** Our display name, sent to peers. */
  readonly name: string;
  /** Clock in epoch ms. */
  readonly now?: () => number;
  /** Overrides the probe of the disk's case sensitivity (tests). */
  readonly caseInsensitive?: boolean;
  /** `.part` files to resume (gathered at start); pulls park theirs here. */
  readonly leftovers?: LeftoverParts;
  /** Which names this side holds, said to peers (default: this OS's rules). */
  readonly namingRules?: NamingRules;
  /** A peer's change was applied to `path` here (recent changes, logs). */
  readonly onApplied?: (path: string) => void;
  /** Where files a peer's change replaces or deletes are kept (versioning on). */
  readonly versions?: VersionKeeper;
  /** The disk is full while writing `path`: free space before the retry. */
  readonly onDiskFull?: (path: string, bytes: number) => Promise<void>;
  /** Which way changes flow (default send-receive). */
  readonly mode?: FolderMode;
  /** The directory whose `.dsync/` holds the index (default: the folder). */
  readonly stateRoot?: string;
  /** A peer said hello (its name is known from now on). */
  readonly onPeerHello?: (peerId: Uint8Array, name: string) => void;
  /** A peer sent the group's new secret after removing `removed`. */
  readonly onGroupRekey?: (
    peerId: Uint8Array,
    secret: Uint8Array,
    removed: Uint8Array,
  ) => void;
}

/** One peer as the UI shows it. */
export interface PeerStatus {
  /** Peer id, 64 hex characters. */
  readonly id: string;
  readonly fingerprint: string;
  readonly name: string | undefined;
  /** The peer's replica id (hex), once its hello arrived. */
  readonly replica?: string | undefined;
  readonly connected: boolean;
  /** Both initial deltas exchanged and acknowledged. */
  readonly initialSyncDone: boolean;
  /** We hold the peer's whole index (its initial delta arrived). */
  readonly indexReceived: boolean;
  /** The peer acknowledged every record of ours we sent. */
  readonly indexAcked: boolean;
  /**
   * The peer said (`InSync`) that it holds everything of ours it
   * acknowledged: nothing of ours is left for it to pull.
   */
  readonly confirmed: boolean;
  /** `host:port` of the current (or last) connection, when known. */
  readonly address: string | undefined;
  /** Our paths this peer's naming rules refuse (it cannot hold them). */
  readonly withheld?: readonly string[];
  /** This peer's paths our naming rules refuse. */
  readonly refused?: readonly string[];
  /** Epoch ms the current (or last) connection came up. */
  readonly connectedAt: number;
  /** Epoch ms the last connection ended; undefined while connected. */
  readonly disconnectedAt: number | undefined;
  /** Chunk bytes received from / sent to this peer (as on the wire). */
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

/** A snapshot of the engine for the UI. */
export interface SyncStatus {
  readonly peers: PeerStatus[];
  readonly transfers: Transfer[];
  /** Live files in the local index and their bytes. */
  readonly totals: { readonly files: number; readonly bytes: number };
  /** Paths queued, in progress or waiting for a peer. */
  readonly pending: number;
  /** Paths that failed to apply and wait for a retry (disk full, denied…). */
  readonly retrying: number;
  /**
   * The first full scan is still running: the index (and what peers got of
   * it) is not the whole folder yet.
   */
  readonly indexing: boolean;
  /**
   * The folder is indexed, nothing is left to pull or retry, and every
   * connected peer's index is exchanged both ways.
   */
  readonly inSync: boolean;
  /** Chunk bytes received from peers (as on the wire). */
  readonly bytesReceived: number;
  /** Chunk bytes sent to peers (as on the wire). */
  readonly bytesSent: number;
  /** Chunk bytes copied from local files instead of fetched. */
  readonly bytesReused: number;
  /** `dsync pause` holds every transfer and announcement. */
  readonly paused: boolean;
  /** Deletes the mass-delete guard holds until accepted. */
  readonly deletesHeld: number;
  /** Which way changes flow. */
  readonly mode: FolderMode;
  /** Send-only: paths that differ from the group and are not changed here. */
  readonly differing: number;
  /** Receive-only: local changes kept here and not sent. */
  readonly localChanges: number;
}

/** Chunk bytes a run moved, for the summary at shutdown. */
export interface RunTotals {
  /** Received from peers (as on the wire). */
  readonly received: number;
  /** Sent to peers (as on the wire). */
  readonly sent: number;
  /** Copied from local files instead of fetched. */
  readonly reused: number;
  /** Kept from `.part` files of interrupted pulls. */
  readonly resumed: number;
}

interface Peer {
  readonly id: string;
  readonly fingerprint: string;
  name: string | undefined;
  replica: string | undefined;
  session: PeerSession | undefined;
  responder: ChunkResponder | undefined;
  address: string | undefined;
  connectedAt: number;
  disconnectedAt: number | undefined;
  /** Bytes of the sessions already ended. */
  bytesReceived: number;
  bytesSent: number;
}

/** Peer ids as hex, cached per array (the pool hands out the same one per channel). */
const hexCache = new WeakMap<Uint8Array, string>();

function hex(bytes: Uint8Array): string {
  const cached = hexCache.get(bytes);
  if (cached !== undefined) return cached;
  const out = toHex(bytes);
  hexCache.set(bytes, out);
  return out;
}

function describeReason(
  reason: PeerPoolEvents["peer-disconnected"]["reason"],
): string {
  if (reason.error !== undefined) {
    return `${reason.error.name}: ${reason.error.message}`;
  }
  return reason.reason === undefined
    ? reason.kind
    : `${reason.kind} (${reason.reason})`;
}

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
  readonly #peers = new Map<string, Peer>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #rescans = new Set<string>();
  #rescanTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Whether a full scan has completed (peers may connect before). */
  #indexed = false;
  #closing: Promise<void> | undefined;
  #quietScan: Promise<ScanSummary> | undefined;
  #bytesReceived = 0;
  #bytesSent = 0;
  #startup: Promise<unknown> = Promise.resolve();
  readonly #now: () => number;
  readonly #rules: NamingRules;
  #totals: RunTotals | undefined;
  #localChangeCount: { at: number; count: number } | undefined;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#rules = options.namingRules ?? LOCAL_NAMING_RULES;
    this.#echo = new EchoFilter({
      onRemember: (path) => options.onApplied?.(path),
    });
    this.#remote = RemoteIndex.open(options.stateRoot ?? options.folder);
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
      sourcesFor: (path, hash) => this.#sourcesFor(path, hash),
      rescan: async (paths) => {
        await this.scan(paths);
      },
      onStored: () => this.onLocalChanges(),
      held: true,
      onIdle: () => {
        for (const peer of this.#peers.values()) peer.session?.sendInSync();
      },
      ...(caseTwin === undefined ? {} : { caseTwin }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.leftovers === undefined
        ? {}
        : { leftovers: options.leftovers }),
      ...(options.versions === undefined ? {} : { versions: options.versions }),
      ...(options.onDiskFull === undefined
        ? {}
        : { onDiskFull: options.onDiskFull }),
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      liveFiles: () => this.#remote.localTotals().files,
      nameOf: (replica) => this.#peerNameOf(replica),
    });
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
      pool.on("message", (e) => {
        // Synchronous on purpose: long work is queued, never awaited here,
        // or request/response on this connection would deadlock.
        this.#peers.get(hex(e.peerId))?.session?.receive(e.message);
      }),
    );
  }

  /** The local index got new sequences: push them to every peer. */
  onLocalChanges(): void {
    if (this.#closed) return;
    for (const peer of this.#peers.values()) {
      peer.session?.notifyLocalChanges();
    }
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

  #peerNameOf(replica: bigint): string | undefined {
    for (const peer of this.#peers.values()) {
      if (peer.session?.state().replica === replica) {
        return peer.name ?? peer.fingerprint;
      }
    }
    return undefined;
  }

  /** Which way changes flow. */
  get mode(): FolderMode {
    return this.#o.mode ?? "send-receive";
  }

  #withholds(record: FileRecord): boolean {
    // A reverted change's tombstone: older than anything, for nobody.
    if (record.version.length === 0) return true;
    return withholds(
      this.mode,
      isLocalChange(
        record,
        this.#remote.recordsFor(record.path).map((r) => r.record),
      ),
    );
  }

  /**
   * The local changes a receive-only folder keeps from the group: paths
   * whose record no peer has. Reads the whole index (at most every few
   * seconds; `status()` reports the last count).
   */
  localChanges(): number {
    if (this.mode !== "receive-only") return 0;
    const now = this.#now();
    if (
      this.#localChangeCount !== undefined &&
      now - this.#localChangeCount.at < 5000
    ) {
      return this.#localChangeCount.count;
    }
    let count = 0;
    for (let cursor = 0;;) {
      const page = this.#o.store.since(cursor, 1000);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.sequence;
      for (const record of page) {
        const remotes = this.#remote.recordsFor(record.path).map((r) =>
          r.record
        );
        if (record.version.length > 0 && isLocalChange(record, remotes)) {
          count++;
        }
      }
    }
    this.#localChangeCount = { at: now, count };
    return count;
  }

  /**
   * Send-only: makes this folder's state of every path that differs from
   * the group win, so the peers apply it. Returns the paths announced.
   */
  async override(): Promise<string[]> {
    const paths = await overrideGroup(this.#modeContext(), [
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
    const outcome = await revertLocalChanges(this.#modeContext(), versions);
    this.#localChangeCount = undefined;
    this.#puller.enqueue(outcome.reverted);
    return outcome;
  }

  #modeContext() {
    return {
      folder: this.#o.folder,
      store: this.#o.store,
      remote: this.#remote,
      gate: this.#gate,
      echo: this.#echo,
    };
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
      this.#replan(recorded[0], recorded[1]);
    }
    this.onLocalChanges();
    return summary;
  }

  /**
   * Plans again the paths a scan changed (local sequences in `(from, to]`)
   * that some peer has a record of. A peer's record that needed no work
   * against the old local record may need some now: an edit a peer made
   * concurrently with the one we had (ours won, so it waited) must come
   * back when we delete ours, since an edit beats a concurrent delete.
   * (The first full scan needs none of this: the puller plans every path
   * that differs from a peer's once it ends.)
   */
  #replan(from: number, to: number): void {
    const paths: string[] = [];
    let after = from;
    for (let page = 0; page < 10_000 && after < to; page++) {
      const rows = this.#remote.localSince(after, 1000);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (row.sequence > to) break;
        if (this.#remote.recordsFor(row.path).length > 0) paths.push(row.path);
      }
      after = rows[rows.length - 1]!.sequence;
    }
    if (paths.length > 0) this.#puller.enqueue(paths);
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
      const deadline = Date.now() + maxDelayMs;
      while (!this.#closed && !this.#puller.idle && Date.now() < deadline) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#puller.whenIdle(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
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
    const sends: Promise<void>[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.session === undefined || except.has(peer.id)) continue;
      sends.push(peer.session.sendGroupRekey(secret, removed));
    }
    const results = await Promise.allSettled(sends);
    return results.filter((r) => r.status === "fulfilled").length;
  }

  /** Paths the puller has queued or in progress (cheap, approximate). */
  get pullBacklog(): number {
    return this.#puller.backlog;
  }

  /** A snapshot for the UI. */
  status(): SyncStatus {
    const peers: PeerStatus[] = [];
    let allExchanged = true;
    let received = this.#bytesReceived;
    let sent = this.#bytesSent;
    for (const peer of this.#peers.values()) {
      const state = peer.session?.state();
      const done = state !== undefined && state.initialReceived &&
        state.allAcked;
      if (peer.session !== undefined && !done) allExchanged = false;
      const peerReceived = peer.session?.requester.wireBytes ?? 0;
      const peerSent = peer.responder?.bytesSent ?? 0;
      received += peerReceived;
      sent += peerSent;
      peers.push({
        id: peer.id,
        fingerprint: peer.fingerprint,
        name: peer.name,
        replica: peer.replica,
        connected: peer.session !== undefined,
        initialSyncDone: done,
        indexReceived: state?.initialReceived ?? false,
        indexAcked: state?.allAcked ?? false,
        confirmed: state !== undefined && state.allAcked &&
          state.peerInSync !== undefined &&
          state.peerInSync >= state.peerAck,
        address: peer.address,
        withheld: peer.session?.withheldNames ?? [],
        refused: peer.session?.refusedNames ?? [],
        connectedAt: peer.connectedAt,
        disconnectedAt: peer.disconnectedAt,
        bytesReceived: peer.bytesReceived + peerReceived,
        bytesSent: peer.bytesSent + peerSent,
      });
    }
    const pending = this.#puller.pending;
    return {
      peers,
      transfers: this.#puller.transfers(),
      totals: this.#remote.localTotals(),
      pending,
      retrying: this.#puller.retrying,
      indexing: !this.#indexed,
      inSync: this.#indexed && pending === 0 && this.#puller.idle &&
        allExchanged && this.#puller.retrying === 0,
      bytesReceived: received,
      bytesSent: sent,
      bytesReused: this.#puller.counters.reusedBytes,
      paused: this.paused,
      deletesHeld: this.#puller.deletesHeld,
      mode: this.mode,
      differing: this.mode === "send-only" ? this.#puller.heldBack.size : 0,
      // Counted by localChanges() (status requests), not at every redraw.
      localChanges: this.#localChangeCount?.count ?? 0,
    };
  }

  /**
   * The name of the connected peer whose record of `record.path` has the
   * same version: where a change applied here came from.
   */
  sourceOf(record: FileRecord): string | undefined {
    // Closing: the remote index may be closed already.
    if (this.#closed) return undefined;
    for (const entry of this.#remote.recordsFor(record.path)) {
      if (compare(entry.record.version, record.version) !== "equal") continue;
      const replica = entry.replica.toString(16).padStart(16, "0");
      for (const peer of this.#peers.values()) {
        if (peer.replica === replica) return peer.name ?? peer.fingerprint;
      }
    }
    return undefined;
  }

  /**
   * Live files and bytes of ours that the peer with replica id `replica`
   * (hex) holds in the same version, as far as its index says.
   */
  heldBy(replica: string): { files: number; bytes: number } {
    if (this.#closed) return { files: 0, bytes: 0 };
    let through = 0;
    for (const peer of this.#peers.values()) {
      if (peer.replica !== replica) continue;
      const confirmed = peer.session?.state().peerInSync;
      if (confirmed !== undefined) {
        through = Math.max(through, Number(confirmed));
      }
    }
    return this.#remote.heldTotals(BigInt(`0x${replica}`), through);
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
    clearTimeout(this.#rescanTimer);
    await this.#startup;
    this.#pause.close();
    this.#puller.stop();
    // Ends the chunk requests in flight, so abandoned downloads finish now.
    const responders: Promise<void>[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.responder !== undefined) responders.push(peer.responder.close());
      this.#retire(peer, "shutting down");
    }
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
    this.#remote.close();
  }

  #connected(peerId: Uint8Array, channel: PeerChannel): void {
    if (this.#closed) return;
    const id = hex(peerId);
    let peer = this.#peers.get(id);
    if (peer === undefined) {
      peer = {
        id,
        fingerprint: fingerprint(channel.peerDevice ?? peerId),
        name: undefined,
        replica: undefined,
        session: undefined,
        responder: undefined,
        address: undefined,
        connectedAt: 0,
        disconnectedAt: undefined,
        bytesReceived: 0,
        bytesSent: 0,
      };
      this.#peers.set(id, peer);
    }
    this.#retire(peer, "replaced");
    peer.address = channel.remoteAddr;
    peer.connectedAt = this.#now();
    peer.disconnectedAt = undefined;
    const current = peer;
    const session = new PeerSession({
      peerId,
      peerDevice: channel.peerDevice,
      link: {
        send: (bytes) => channel.send(bytes),
        close: (error) => channel.abort(error),
      },
      local: this.#o.store,
      remote: this.#remote,
      ...(this.#o.mode === "receive-only"
        ? { withhold: (record: FileRecord) => this.#withholds(record) }
        : {}),
      held: () => this.#pause.paused,
      name: this.#o.name,
      caseInsensitive: this.#caseInsensitive,
      posixNames: this.#rules === "posix",
      convert: (wire) =>
        fromWireRecord(wire, {
          ignore: this.#o.ignore,
          rules: this.#rules,
          ...(this.#caseFold === undefined
            ? {}
            : { caseTwin: (p: string) => this.#caseFold!.twin(p) }),
        }),
      onHello: (s) => {
        current.name = s.name;
        current.replica = s.replica?.toString(16).padStart(16, "0");
        this.#o.onPeerHello?.(peerId, s.name ?? "");
        log.info("Peer {name} ({fingerprint}) connected", {
          name: s.name,
          fingerprint: s.fingerprint,
        });
        this.#puller.retryWaiting();
      },
      onRecords: (s, records) => {
        this.#puller.offer(records);
        // Records that need nothing here do not wake the puller, so its
        // idle hook would not tell the peer we hold them.
        if (this.#puller.idle) s.sendInSync();
      },
      onGroupRekey: (_s, secret, removed) =>
        this.#o.onGroupRekey?.(peerId, secret, removed),
      onInitialDelta: (s) => {
        log.debug("Received the index of {name} ({fingerprint})", {
          name: s.name,
          fingerprint: s.fingerprint,
        });
        if (this.#puller.idle) s.sendInSync();
      },
      onChunkRequest: (_s, request) => responder.handle(request),
    });
    const responder = new ChunkResponder({
      folder: this.#o.folder,
      ignore: this.#o.ignore,
      indexed: new IndexChunkLookup(this.#o.store),
      send: (response) => session.send(response),
      onChanged: (path) => this.#rescanSoon(path),
      whilePaused: () => this.#pause.whilePaused(),
    });
    peer.session = session;
    peer.responder = responder;
    session.start();
  }

  #disconnected(
    peerId: Uint8Array,
    reason: PeerPoolEvents["peer-disconnected"]["reason"],
  ): void {
    const peer = this.#peers.get(hex(peerId));
    if (peer === undefined || peer.session === undefined) return;
    if (reason.kind !== "replaced") {
      log.info("Peer {name} ({fingerprint}) disconnected: {reason}", {
        name: peer.name ?? "(no hello)",
        fingerprint: peer.fingerprint,
        reason: describeReason(reason),
      });
    }
    this.#retire(peer, describeReason(reason));
  }

  /** Ends the peer's current session, keeping its byte counts. */
  #retire(peer: Peer, reason: string): void {
    const { session, responder } = peer;
    if (session === undefined) return;
    peer.session = undefined;
    peer.responder = undefined;
    peer.disconnectedAt = this.#now();
    session.closed(reason);
    this.#bytesReceived += session.requester.wireBytes;
    peer.bytesReceived += session.requester.wireBytes;
    if (responder !== undefined) {
      this.#bytesSent += responder.bytesSent;
      peer.bytesSent += responder.bytesSent;
      responder.close().catch(() => {});
    }
  }

  #sourcesFor(path: string, hash: Uint8Array): ChunkSource[] {
    const replicas = this.#remote.replicasWithContent(path, hash);
    if (replicas.length === 0) return [];
    const out: ChunkSource[] = [];
    for (const peer of this.#peers.values()) {
      const session = peer.session;
      if (session === undefined || !session.open) continue;
      const replica = session.replica;
      if (replica === undefined || !replicas.includes(replica)) continue;
      out.push({
        key: peer.id,
        get open() {
          return session.open;
        },
        get load() {
          return session.requester.inFlightBytes;
        },
        request: (p, h, offset, length, signal) =>
          session.requestChunk(p, h, offset, length, signal),
      });
    }
    return out;
  }

  #rescanSoon(path: string): void {
    if (this.#closed) return;
    if (!this.#rescans.has(path)) {
      log.info(
        "{path} changed while a peer was fetching it; rescanning it so peers get the new version",
        { path },
      );
    }
    this.#rescans.add(path);
    if (this.#rescanTimer !== undefined) return;
    this.#rescanTimer = setTimeout(() => {
      this.#rescanTimer = undefined;
      const paths = [...this.#rescans];
      this.#rescans.clear();
      if (this.#closed) return;
      this.scan(paths).catch((err) =>
        log.warn("Rescan of changed files failed: {error}", {
          error: String(err),
        })
      );
    }, 100);
  }
}
