/**
 * What a connected peer gets: a `PeerSession` for the index exchange,
 * wired to the puller (records offered, retries when the peer can serve),
 * to the folder's mode and pause, and a `ChunkResponder` serving our
 * chunks to it (those of files still being received too), with what it
 * announces of its own pulls in progress kept for the chunk fetcher;
 * {@linkcode PeerLine} holds them together and is what the session calls.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { isLoopbackPeer } from "../compress/mod.ts";
import type { FileRecord, RemoteIndex } from "../index/mod.ts";
import type {
  Availability,
  ChunkRequest,
  NamingRules,
} from "../protocol/mod.ts";
import {
  type ChangedFiles,
  ChunkResponder,
  type ChunkServer,
  fromWireRecord,
  IndexChunkLookup,
  PeerSession,
  type SessionHandle,
  type SessionListener,
} from "./session/mod.ts";
import type { LeftoverParts, Puller } from "./pull/mod.ts";
import type { SyncEngineOptions } from "./engine_options.ts";
import type { ConnectedPeers, Peer } from "./peer_directory.ts";
import type { PeerChannel } from "./peer_pool.ts";
import type { PauseSwitch } from "./pause_switch.ts";
import type { ApplyGate } from "./apply/mod.ts";
import { poisonRepairer } from "./poison_repair.ts";
import {
  type AvailabilityAnnouncer,
  type PartialFiles,
  PeerClaims,
} from "./swarm/mod.ts";

const log = getLogger(["dsync", "sync"]);

/** What the sessions of a folder are wired to. */
export interface PeerWiring {
  readonly options: SyncEngineOptions;
  readonly remote: RemoteIndex;
  readonly puller: Pick<
    Puller,
    "retryWaiting" | "offer" | "idle" | "enqueue"
  >;
  readonly pause: PauseSwitch;
  readonly caseInsensitive: boolean;
  readonly rules: NamingRules;
  /** On a case-insensitive disk: the live path `path` would collide with. */
  readonly caseTwin: ((path: string) => string | undefined) | undefined;
  /** Local records a receive-only folder keeps from its peers. */
  readonly withhold: ((record: FileRecord) => boolean) | undefined;
  /** Files that changed while a peer fetched them (rescanned soon). */
  readonly changed: ChangedFiles;
  /** Where local records are changed (a poisoned version repaired). */
  readonly gate: ApplyGate;
  /** New local sequences exist: push them to every peer. */
  readonly announce: () => void;
  /** Our pulls in progress, served to peers from their `.part`. */
  readonly partials: PartialFiles;
  /** Announces them; a new peer is given its current state. */
  readonly announcer: AvailabilityAnnouncer;
  /** A peer's initial index arrived and the puller is idle. */
  readonly caughtUp: () => void;
  /** A scan of the folder is running (it hashes what changed). */
  readonly scanning: () => boolean;
}

/**
 * Once every connected peer's index is here and the puller is idle, no
 * leftover `.part` kept for resuming can be resumed: they go (a `.part` a
 * kill left beside a file that is here whole stayed for the 10-minute
 * maximum age; `deno task chaos --seed 300290`).
 */
export function dropLeftoversWhenCaughtUp(
  leftovers: LeftoverParts | undefined,
  peers: Pick<ConnectedPeers, "allIndexesReceived">,
): void {
  if (leftovers === undefined || leftovers.size === 0) return;
  if (peers.allIndexesReceived()) leftovers.discardAll().catch(() => {});
}

/**
 * One connected peer's line into the folder: it starts the peer's
 * `PeerSession` and `ChunkResponder` and is what the session calls back
 * (a {@linkcode SessionListener} and a {@linkcode ChunkServer}): records
 * the peer sent go to the puller (`records` → `Puller.offer`), chunk
 * requests to the responder.
 */
export class PeerLine implements SessionListener, ChunkServer {
  readonly #w: PeerWiring;
  readonly #peerId: Uint8Array;
  readonly #peer: Peer;
  readonly session: PeerSession;
  readonly responder: ChunkResponder;
  /** What the peer announced of its own pulls in progress. */
  readonly claims = new PeerClaims();

  /** Starts the session and responder of `peer`, connected over `channel`. */
  constructor(
    w: PeerWiring,
    peerId: Uint8Array,
    channel: PeerChannel,
    peer: Peer,
  ) {
    this.#w = w;
    this.#peerId = peerId;
    this.#peer = peer;
    const o = w.options;
    const caseTwin = w.caseTwin;
    this.session = new PeerSession({
      peerId,
      peerDevice: channel.peerDevice,
      link: {
        send: (bytes) => channel.send(bytes),
        close: (error) => channel.abort(error),
      },
      local: o.store,
      remote: w.remote,
      ...(w.withhold === undefined ? {} : { withhold: w.withhold }),
      repairPoisoned: poisonRepairer(
        { store: o.store, gate: w.gate },
        (path) => {
          w.announce();
          w.puller.enqueue([path]);
        },
      ),
      names: peer.names,
      intakeBudget: peer.intake,
      held: () => w.pause.paused,
      name: o.name,
      caseInsensitive: w.caseInsensitive,
      posixNames: w.rules === "posix",
      convert: (wire) =>
        fromWireRecord(wire, {
          ignore: o.ignore,
          rules: w.rules,
          ...(caseTwin === undefined ? {} : { caseTwin }),
        }),
      listener: this,
      chunks: this,
      ...(o.hashOffThread === undefined
        ? {}
        : { hashOffThread: o.hashOffThread }),
    });
    this.responder = new ChunkResponder({
      folder: o.folder,
      ignore: o.ignore,
      indexed: new IndexChunkLookup(o.store),
      partials: w.partials,
      to: this.session,
      changed: w.changed,
      pause: w.pause,
      loopback: isLoopbackPeer(channel.remoteAddr),
      scanning: w.scanning,
    });
    peer.session = this.session;
    peer.responder = this.responder;
    peer.claims = this.claims;
    this.session.start();
  }

  hello(s: SessionHandle): void {
    this.#peer.name = s.name;
    this.#peer.replica = s.replica?.toString(16).padStart(16, "0");
    this.#w.options.onPeerHello?.(this.#peerId, s.name ?? "");
    log.info("Peer {name} ({fingerprint}) connected", {
      name: s.name,
      fingerprint: s.fingerprint,
    });
    if (this.session.state().swarming) {
      for (const msg of this.#w.announcer.snapshot()) {
        this.session.send(msg).catch(() => {});
      }
    }
    this.#w.puller.retryWaiting();
  }

  availability(_s: SessionHandle, msg: Availability): void {
    this.claims.take(msg);
  }

  records(s: SessionHandle, records: FileRecord[]): void {
    this.#w.puller.offer(records);
    // Records that need nothing here do not wake the puller, so its
    // idle hook would not tell the peer we hold them.
    if (this.#w.puller.idle) s.sendInSync();
  }

  initialDelta(s: SessionHandle): void {
    log.debug("Received the index of {name} ({fingerprint})", {
      name: s.name,
      fingerprint: s.fingerprint,
    });
    if (this.#w.puller.idle) {
      s.sendInSync();
      this.#w.caughtUp();
    }
  }

  groupRekey(_s: SessionHandle, secret: Uint8Array, removed: Uint8Array): void {
    this.#w.options.onGroupRekey?.(this.#peerId, secret, removed);
  }

  handle(request: ChunkRequest): void {
    this.responder.handle(request);
  }
}
