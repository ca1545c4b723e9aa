/**
 * The peers of one folder as the engine knows them: each one's current
 * session and responder (none while disconnected), its address and byte
 * counts across sessions. It answers the puller's one question about
 * peers, "who can give me this chunk" ({@linkcode PeerDirectory}): the
 * connected peers whose replica announced the same content, and those
 * still receiving that version that announced some of its chunks
 * (`Availability`, kept per connection in {@linkcode PeerClaims}).
 * @module
 */

import { fingerprint } from "../identity/mod.ts";
import { type FileRecord, type RemoteIndex, toHex } from "../index/mod.ts";
import type { Availability } from "../protocol/mod.ts";
import type { ChunkSource, PeerDirectory } from "./pull/mod.ts";
import {
  AvailabilityAnnouncer,
  PartialFiles,
  type PeerClaims,
} from "./swarm/mod.ts";
import {
  type ChunkResponder,
  IntakeBudget,
  NameReports,
  type PeerSession,
} from "./session/mod.ts";
import type { PeerStatus } from "./status.ts";

/** One peer, across its sessions. */
export interface Peer {
  readonly id: string;
  readonly fingerprint: string;
  name: string | undefined;
  /** The peer's replica id (16 hex digits), once its hello arrived. */
  replica: string | undefined;
  session: PeerSession | undefined;
  responder: ChunkResponder | undefined;
  /** What the peer announced of files it is still receiving (this connection). */
  claims: PeerClaims | undefined;
  address: string | undefined;
  connectedAt: number;
  disconnectedAt: number | undefined;
  /** Bytes of the sessions already ended. */
  bytesReceived: number;
  bytesSent: number;
  /** Of `bytesSent`, chunks of files still being received here. */
  partialBytesSent: number;
  /**
   * Names the naming rules keep apart from this peer, across its
   * sessions: a second connection sends only what the peer lacks, so it
   * would not learn again what the first one withheld.
   */
  readonly names: NameReports;
  /**
   * The peer's index intake quotas, across its sessions: reconnecting
   * does not give it a fresh minute's worth (issue #19 point 4).
   */
  readonly intake: IntakeBudget;
}

/** Peer ids as hex, cached per array (the pool hands out the same one per channel). */
const hexCache = new WeakMap<Uint8Array, string>();

/** `bytes` as hex, cached per array. */
export function peerHex(bytes: Uint8Array): string {
  const cached = hexCache.get(bytes);
  if (cached !== undefined) return cached;
  const out = toHex(bytes);
  hexCache.set(bytes, out);
  return out;
}

/** The peers' state for the UI, summed over peers. */
export interface PeersStatus {
  readonly peers: PeerStatus[];
  /** Every connected peer's index is exchanged both ways. */
  readonly allExchanged: boolean;
  /** Chunk bytes received from / sent to peers, ended sessions included. */
  readonly received: number;
  readonly sent: number;
}

/** The engine's peers; see the module comment. */
export class ConnectedPeers implements PeerDirectory {
  readonly #remote: RemoteIndex;
  readonly #now: () => number;
  readonly #peers = new Map<string, Peer>();
  /** Bytes of the sessions already ended, all peers. */
  #bytesReceived = 0;
  #bytesSent = 0;
  /** Our pulls in progress, offered to the peers (swarming). */
  readonly partials = new PartialFiles();
  /** Tells the peers of them. */
  readonly announcer: AvailabilityAnnouncer;

  constructor(remote: RemoteIndex, now: () => number) {
    this.#remote = remote;
    this.#now = now;
    this.announcer = new AvailabilityAnnouncer({
      files: this.partials,
      broadcast: (msg) => this.announce(msg),
    });
  }

  /** The peer with id `peerId`, if ever seen. */
  get(peerId: Uint8Array): Peer | undefined {
    return this.#peers.get(peerHex(peerId));
  }

  /** Every peer ever seen. */
  all(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /**
   * The peer `peerId` connected over `channel`: its entry (made on first
   * sight), its previous session retired, ready for a new session.
   */
  arrive(
    peerId: Uint8Array,
    channel: { readonly peerDevice?: Uint8Array; readonly remoteAddr?: string },
  ): Peer {
    const id = peerHex(peerId);
    let peer = this.#peers.get(id);
    if (peer === undefined) {
      peer = {
        id,
        fingerprint: fingerprint(channel.peerDevice ?? peerId),
        name: undefined,
        replica: undefined,
        session: undefined,
        responder: undefined,
        claims: undefined,
        address: undefined,
        connectedAt: 0,
        disconnectedAt: undefined,
        bytesReceived: 0,
        bytesSent: 0,
        partialBytesSent: 0,
        names: new NameReports(),
        intake: new IntakeBudget({
          peer: () => fingerprint(channel.peerDevice ?? peerId),
        }),
      };
      this.#peers.set(id, peer);
    }
    this.retire(peer, "replaced");
    peer.address = channel.remoteAddr;
    peer.connectedAt = this.#now();
    peer.disconnectedAt = undefined;
    return peer;
  }

  /** Ends the peer's current session, keeping its byte counts. */
  retire(peer: Peer, reason: string): void {
    const { session, responder } = peer;
    if (session === undefined) return;
    peer.session = undefined;
    peer.responder = undefined;
    peer.claims = undefined;
    peer.disconnectedAt = this.#now();
    session.closed(reason);
    const received = session.requester.wireBytes + session.blocks.wireBytes;
    this.#bytesReceived += received;
    peer.bytesReceived += received;
    if (responder !== undefined) {
      this.#bytesSent += responder.bytesSent;
      peer.bytesSent += responder.bytesSent;
      peer.partialBytesSent += responder.partialBytesSent;
      responder.close().catch(() => {});
    }
  }

  /**
   * Ends every peer's session and the announcements (shutting down);
   * resolves when their responders have written what they were sending.
   */
  retireAll(reason: string): Promise<void>[] {
    this.announcer.close();
    const responders: Promise<void>[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.responder !== undefined) responders.push(peer.responder.close());
      this.retire(peer, reason);
    }
    return responders;
  }

  sourcesFor(path: string, hash: Uint8Array): ChunkSource[] {
    return this.#sourcesAmong(
      path,
      hash,
      this.#remote.replicasWithContent(path, hash),
      new Map(),
    );
  }

  /**
   * {@linkcode sourcesFor} of each of `files` (distinct paths), by path,
   * with one index query for all; a peer that holds several of them whole
   * is one source object for all of them.
   */
  sourcesForMany(
    files: readonly { readonly path: string; readonly hash: Uint8Array }[],
  ): Map<string, ChunkSource[]> {
    const replicas = this.#remote.replicasWithContents(files);
    const whole = new Map<Peer, ChunkSource>();
    const out = new Map<string, ChunkSource[]>();
    for (const { path, hash } of files) {
      out.set(
        path,
        this.#sourcesAmong(path, hash, replicas.get(path) ?? [], whole),
      );
    }
    return out;
  }

  /**
   * The sources of `path` at `hash`: the connected peers among `replicas`
   * (taken from, or put in, `whole`), and the partial holders that claim
   * it.
   */
  #sourcesAmong(
    path: string,
    hash: Uint8Array,
    replicas: readonly bigint[],
    whole: Map<Peer, ChunkSource>,
  ): ChunkSource[] {
    const out: ChunkSource[] = [];
    for (const peer of this.#peers.values()) {
      const session = peer.session;
      if (session === undefined || !session.open) continue;
      const replica = session.replica;
      if (replica === undefined) continue;
      if (replicas.includes(replica)) {
        let source = whole.get(peer);
        if (source === undefined) {
          whole.set(peer, source = sourceOfSession(peer, session));
        }
        out.push(source);
        continue;
      }
      const claims = peer.claims;
      if (claims === undefined || !claims.claims(path, hash)) continue;
      // Read at each choice: the claim grows while the pull runs.
      out.push(
        sourceOfSession(
          peer,
          session,
          (index) => claims.holds(path, hash, index),
        ),
      );
    }
    return out;
  }

  /** Sends `msg` to every connected peer that takes `Availability`. */
  announce(msg: Availability): void {
    for (const peer of this.#peers.values()) {
      const session = peer.session;
      if (
        session === undefined || !session.open || !session.state().swarming
      ) {
        continue;
      }
      session.send(msg).catch(() => {
        // The connection failed; the pool reports it.
      });
    }
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

  /** The name (or fingerprint) of the connected peer whose replica is `replica`. */
  nameOf(replica: bigint): string | undefined {
    for (const peer of this.#peers.values()) {
      if (peer.session?.state().replica === replica) {
        return peer.name ?? peer.fingerprint;
      }
    }
    return undefined;
  }

  /**
   * The name (or fingerprint) of a peer whose replica announced exactly
   * `record`'s version: where that change came from.
   */
  sourceOf(record: Pick<FileRecord, "path" | "version">): string | undefined {
    for (
      const id of this.#remote.replicasWithVersion(record.path, record.version)
    ) {
      const replica = id.toString(16).padStart(16, "0");
      for (const peer of this.#peers.values()) {
        if (peer.replica === replica) return peer.name ?? peer.fingerprint;
      }
    }
    return undefined;
  }

  /**
   * {@linkcode sourceOf} of each of `records` (distinct paths), by path,
   * in one query; records no connected peer announced are left out.
   */
  sourcesOf(
    records: readonly Pick<FileRecord, "path" | "version">[],
  ): Map<string, string> {
    const names = new Map<string, string>();
    for (const peer of this.#peers.values()) {
      if (peer.replica !== undefined && !names.has(peer.replica)) {
        names.set(peer.replica, peer.name ?? peer.fingerprint);
      }
    }
    const out = new Map<string, string>();
    if (names.size === 0) return out;
    for (const [path, ids] of this.#remote.replicasWithVersions(records)) {
      for (const id of ids) {
        const name = names.get(id.toString(16).padStart(16, "0"));
        if (name !== undefined) {
          out.set(path, name);
          break;
        }
      }
    }
    return out;
  }

  /**
   * Files and bytes of ours the peers with `replica` confirmed they hold
   * (through their last `InSync`).
   */
  heldBy(replica: string): { files: number; bytes: number } {
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

  /**
   * True when at least one peer is connected and every connected peer's
   * initial index has arrived.
   */
  allIndexesReceived(): boolean {
    let connected = 0;
    for (const peer of this.#peers.values()) {
      if (peer.session === undefined) continue;
      if (!peer.session.state().initialReceived) return false;
      connected++;
    }
    return connected > 0;
  }

  /** Each peer as the UI shows it, and the sums. */
  status(): PeersStatus {
    const peers: PeerStatus[] = [];
    let allExchanged = true;
    let received = this.#bytesReceived;
    let sent = this.#bytesSent;
    for (const peer of this.#peers.values()) {
      const state = peer.session?.state();
      const done = state !== undefined && state.initialReceived &&
        state.allAcked;
      if (peer.session !== undefined && !done) allExchanged = false;
      const peerReceived = (peer.session?.requester.wireBytes ?? 0) +
        (peer.session?.blocks.wireBytes ?? 0);
      const peerSent = peer.responder?.bytesSent ?? 0;
      const peerPartialSent = peer.responder?.partialBytesSent ?? 0;
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
        withheld: peer.session?.names.withheld ?? [],
        refused: peer.session?.names.refused ?? [],
        connectedAt: peer.connectedAt,
        disconnectedAt: peer.disconnectedAt,
        bytesReceived: peer.bytesReceived + peerReceived,
        bytesSent: peer.bytesSent + peerSent,
        partialBytesSent: peer.partialBytesSent + peerPartialSent,
      });
    }
    return { peers, allExchanged, received, sent };
  }
}

/**
 * A connected peer as a source of chunks: of any path it holds whole, or,
 * with `holds`, of the chunks of one file it is still receiving.
 */
function sourceOfSession(
  peer: Peer,
  session: PeerSession,
  holds?: (index: number) => boolean,
): ChunkSource {
  return {
    key: peer.id,
    label: `${peer.name ?? "a peer"} (${peer.fingerprint})`,
    get open() {
      return session.open;
    },
    get load() {
      return session.requester.inFlightBytes + session.blocks.inFlightBytes;
    },
    request: (p, h, offset, length, signal) =>
      session.requestChunk(p, h, offset, length, signal),
    ...(session.state().blockDeltas
      ? {
        requestBlocks: (p, h, offset, base, signal) =>
          session.blocks.request(p, h, offset, base, signal),
      }
      : {}),
    ...(holds === undefined ? {} : { holds }),
  };
}
