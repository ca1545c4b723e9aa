/**
 * What a connected peer gets: a `PeerSession` for the index exchange,
 * wired to the puller (records offered, retries when the peer can serve),
 * to the folder's mode and pause, and a `ChunkResponder` serving our
 * chunks to it (those of files still being received too), with what it
 * announces of its own pulls in progress kept for the chunk fetcher.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { FileRecord, RemoteIndex } from "../index/mod.ts";
import type { NamingRules } from "../protocol/mod.ts";
import {
  ChunkResponder,
  fromWireRecord,
  IndexChunkLookup,
  PeerSession,
} from "./session/mod.ts";
import type { Puller } from "./pull/mod.ts";
import type { SyncEngineOptions } from "./engine_options.ts";
import type { Peer } from "./peer_directory.ts";
import type { PeerChannel } from "./peer_pool.ts";
import type { PauseSwitch } from "./pause_switch.ts";
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
  readonly puller: Pick<Puller, "retryWaiting" | "offer" | "idle">;
  readonly pause: PauseSwitch;
  readonly caseInsensitive: boolean;
  readonly rules: NamingRules;
  /** On a case-insensitive disk: the live path `path` would collide with. */
  readonly caseTwin: ((path: string) => string | undefined) | undefined;
  /** Local records a receive-only folder keeps from its peers. */
  readonly withhold: ((record: FileRecord) => boolean) | undefined;
  /** A file changed while the peer fetched it. */
  readonly changed: (path: string) => void;
  /** Our pulls in progress, served to peers from their `.part`. */
  readonly partials: PartialFiles;
  /** Announces them; a new peer is given its current state. */
  readonly announcer: AvailabilityAnnouncer;
}

/** Starts the session and responder of `peer`, connected over `channel`. */
export function wirePeer(
  w: PeerWiring,
  peerId: Uint8Array,
  channel: PeerChannel,
  peer: Peer,
): void {
  const o = w.options;
  const caseTwin = w.caseTwin;
  const session = new PeerSession({
    peerId,
    peerDevice: channel.peerDevice,
    link: {
      send: (bytes) => channel.send(bytes),
      close: (error) => channel.abort(error),
    },
    local: o.store,
    remote: w.remote,
    ...(w.withhold === undefined ? {} : { withhold: w.withhold }),
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
    onHello: (s) => {
      peer.name = s.name;
      peer.replica = s.replica?.toString(16).padStart(16, "0");
      o.onPeerHello?.(peerId, s.name ?? "");
      log.info("Peer {name} ({fingerprint}) connected", {
        name: s.name,
        fingerprint: s.fingerprint,
      });
      if (session.state().swarming) {
        for (const msg of w.announcer.snapshot()) {
          session.send(msg).catch(() => {});
        }
      }
      w.puller.retryWaiting();
    },
    onAvailability: (_s, msg) => claims.take(msg),
    onRecords: (s, records) => {
      w.puller.offer(records);
      // Records that need nothing here do not wake the puller, so its
      // idle hook would not tell the peer we hold them.
      if (w.puller.idle) s.sendInSync();
    },
    onGroupRekey: (_s, secret, removed) =>
      o.onGroupRekey?.(peerId, secret, removed),
    onInitialDelta: (s) => {
      log.debug("Received the index of {name} ({fingerprint})", {
        name: s.name,
        fingerprint: s.fingerprint,
      });
      if (w.puller.idle) s.sendInSync();
    },
    onChunkRequest: (_s, request) => responder.handle(request),
  });
  const responder = new ChunkResponder({
    folder: o.folder,
    ignore: o.ignore,
    indexed: new IndexChunkLookup(o.store),
    partials: w.partials,
    send: (response) => session.send(response),
    onChanged: w.changed,
    whilePaused: () => w.pause.whilePaused(),
  });
  const claims = new PeerClaims();
  peer.session = session;
  peer.responder = responder;
  peer.claims = claims;
  session.start();
}
