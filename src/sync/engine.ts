/**
 * The sync engine of one folder: a {@linkcode PeerSession} per connected
 * peer (index exchange), a {@linkcode ChunkResponder} per peer (serving our
 * chunks), one {@linkcode Puller} (bringing theirs here), the remote index
 * they share, and the gate that keeps the scanner from mistaking our own
 * writes for edits. The node feeds it local changes (`scan`,
 * `onLocalChanges`) and a connection pool (`attach`).
 *
 * A peer's file, followed by calls: the session stores the peer's records
 * in the remote index and offers them to the puller (`onRecords` →
 * `Puller.offer`, `pull/puller.ts`); the puller plans each path
 * (`pull/decision.ts`, `pull/planner.ts`) and hands files to
 * `pull/file_pull.ts` or `pull/group_pull.ts`, whose chunk fetcher asks the
 * {@linkcode ConnectedPeers} directory who can serve them and requests the
 * chunks through their sessions (`session/chunk_requests.ts`); the bytes go
 * to disk in the apply room (`apply/atomic_writer.ts`,
 * `apply/small_file_batch.ts`). A local edit goes the other way: the
 * node's watcher calls `scan`, and every session pushes the new sequences
 * (`PeerSession.notifyLocalChanges`).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  emptyScanSummary,
  type IgnoreRules,
  type IndexStore,
  RemoteIndex,
  type Scanner,
  type ScanSummary,
  toOsPath,
} from "../index/mod.ts";
import { ApplyGate, EchoFilter, echoStateOf } from "./apply/mod.ts";
import {
  CaseFoldIndex,
  ChunkResponder,
  detectCaseInsensitive,
  fromWireRecord,
  PeerSession,
} from "./session/mod.ts";
import { type LeftoverParts, LocalChunkIndex, Puller } from "./pull/mod.ts";
import { ConnectedPeers } from "./peer_directory.ts";
import type { PeerChannel, PeerPool, PeerPoolEvents } from "./peer_pool.ts";
import type { RunTotals, SyncStatus } from "./status.ts";

const log = getLogger(["dsync", "sync"]);

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
  /** A peer said hello (its name is known from now on). */
  readonly onPeerHello?: (peerId: Uint8Array, name: string) => void;
  /** A peer sent the group's new secret after removing `removed`. */
  readonly onGroupRekey?: (
    peerId: Uint8Array,
    secret: Uint8Array,
    removed: Uint8Array,
  ) => void;
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
  readonly #echo = new EchoFilter();
  readonly #chunkIndex: LocalChunkIndex;
  readonly #caseFold: CaseFoldIndex | undefined;
  readonly #caseInsensitive: boolean;
  readonly #puller: Puller;
  readonly #peers: ConnectedPeers;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #rescans = new Set<string>();
  #rescanTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Whether a full scan has completed (peers may connect before). */
  #indexed = false;
  #closing: Promise<void> | undefined;
  #quietScan: Promise<ScanSummary> | undefined;
  #startup: Promise<unknown> = Promise.resolve();
  readonly #now: () => number;
  #totals: RunTotals | undefined;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#remote = RemoteIndex.open(options.folder);
    this.#peers = new ConnectedPeers(this.#remote, this.#now);
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
      rescan: async (paths) => {
        await this.scan(paths);
      },
      onStored: () => this.onLocalChanges(),
      held: true,
      onIdle: () => {
        for (const peer of this.#peers.all()) peer.session?.sendInSync();
      },
      ...(caseTwin === undefined ? {} : { caseTwin }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.leftovers === undefined
        ? {}
        : { leftovers: options.leftovers }),
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
        this.#peers.get(e.peerId)?.session?.receive(e.message);
      }),
    );
  }

  /** The local index got new sequences: push them to every peer. */
  onLocalChanges(): void {
    if (this.#closed) return;
    for (const peer of this.#peers.all()) peer.session?.notifyLocalChanges();
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
    for (const peer of this.#peers.all()) {
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
    const { peers, allExchanged, received, sent } = this.#peers.status();
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
    };
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
    this.#puller.stop();
    // Ends the chunk requests in flight, so abandoned downloads finish now.
    const responders: Promise<void>[] = [];
    for (const peer of this.#peers.all()) {
      if (peer.responder !== undefined) responders.push(peer.responder.close());
      this.#peers.retire(peer, "shutting down");
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
    const peer = this.#peers.arrive(peerId, channel);
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
      name: this.#o.name,
      caseInsensitive: this.#caseInsensitive,
      convert: (wire) =>
        fromWireRecord(wire, {
          ignore: this.#o.ignore,
          ...(this.#caseFold === undefined
            ? {}
            : { caseTwin: (p: string) => this.#caseFold!.twin(p) }),
        }),
      onHello: (s) => {
        current.name = s.name;
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
      send: (response) => session.send(response),
      onChanged: (path) => this.#rescanSoon(path),
    });
    peer.session = session;
    peer.responder = responder;
    session.start();
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
