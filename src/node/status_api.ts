/**
 * `GET /api/status` of the control server: the node's whole state as one
 * JSON document, for `dsync status` and for scripts. It says "in sync" only
 * when it can prove it: the folder is indexed, nothing is queued, pending
 * or failing here, and every connected peer has both sent us its whole
 * index and confirmed that it holds everything of ours. Otherwise `waiting`
 * says what is missing, one reason a line.
 * @module
 */
import type { FolderMode, PeerStatus, SyncStatus } from "../sync/mod.ts";
import type { ControlRoutes } from "./control_server.ts";

/** What the folder is doing, in one word. */
export type FolderState =
  | "scanning"
  | "syncing"
  | "in sync"
  | "no peers"
  | "paused";

/** One peer in the status document. */
export interface PeerReport {
  readonly name: string | null;
  /** Device fingerprint (what `dsync members` shows). */
  readonly fingerprint: string;
  /** `host:port` of the connection, when known. */
  readonly address: string | null;
  readonly connected: boolean;
  /** Epoch ms the current (or last) connection came up. */
  readonly connectedSince: number;
  /** Epoch ms the last connection ended, when not connected. */
  readonly disconnectedAt: number | null;
  /** We hold the peer's whole index. */
  readonly indexReceived: boolean;
  /** The peer acknowledged our whole index. */
  readonly indexSent: boolean;
  /** The peer confirmed it holds everything of ours (nothing left to pull). */
  readonly confirmed: boolean;
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

/** The document `GET /api/status` answers. */
export interface StatusDocument {
  readonly folder: {
    readonly path: string;
    readonly files: number;
    readonly bytes: number;
    readonly state: FolderState;
    /** Why the folder is not in sync; empty when it is. */
    readonly waiting: readonly string[];
    /** Which way changes flow. */
    readonly mode: FolderMode;
    /** Send-only: files that differ from the group, not changed here. */
    readonly differing: number;
    /** Receive-only: local changes kept here and not sent. */
    readonly localChanges: number;
  };
  /** Group fingerprint, or "open" in open LAN mode. */
  readonly group: string;
  readonly device: { readonly name: string; readonly fingerprint: string };
  readonly peers: readonly PeerReport[];
  readonly transfers: readonly {
    readonly path: string;
    readonly done: number;
    readonly total: number;
    readonly startedAt: number;
  }[];
  /** Paths queued, in progress or waiting for a peer. */
  readonly pending: number;
  /** Paths that failed to apply and wait for a retry. */
  readonly retrying: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly bytesReused: number;
}

/** Where the status document's parts come from. */
export interface StatusSources {
  /** Absolute path of the folder. */
  readonly folder: string;
  readonly device: { readonly name: string; readonly fingerprint: string };
  /** Read at each request: a removal changes the group key. */
  readonly group: () => string;
  readonly status: () => SyncStatus;
}

function label(peer: PeerStatus): string {
  return peer.name ?? peer.fingerprint;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * One entry per device: a peer that restarted comes back under a new
 * session id, and its old, disconnected session is not another device.
 */
function latestPerDevice(peers: readonly PeerStatus[]): PeerStatus[] {
  const byDevice = new Map<string, PeerStatus>();
  for (const peer of peers) {
    const seen = byDevice.get(peer.fingerprint);
    const newer = seen === undefined ||
      (peer.connected && !seen.connected) ||
      (peer.connected === seen.connected &&
        peer.connectedAt > seen.connectedAt);
    if (newer) byDevice.set(peer.fingerprint, peer);
  }
  return [...byDevice.values()];
}

/** What keeps the folder from being in sync, one reason each. */
export function waitingReasons(status: SyncStatus): string[] {
  const reasons: string[] = [];
  if (status.indexing) reasons.push("indexing the folder");
  const busy = Math.max(0, status.pending - status.retrying);
  if (busy > 0) reasons.push(`${count(busy, "file")} to bring here`);
  if (status.retrying > 0) {
    reasons.push(`${count(status.retrying, "file")} failing, retrying`);
  }
  if (status.deletesHeld > 0) {
    reasons.push(
      `${
        count(status.deletesHeld, "delete")
      } from a peer held back (dsync resume --accept-deletes applies them)`,
    );
  }
  for (const peer of latestPerDevice(status.peers)) {
    if (!peer.connected) continue;
    if (!peer.indexReceived) {
      reasons.push(`waiting for the index of ${label(peer)}`);
    } else if (!peer.indexAcked) {
      reasons.push(`waiting for ${label(peer)} to take our index`);
    } else if (!peer.confirmed) {
      reasons.push(`waiting for ${label(peer)} to finish pulling`);
    }
  }
  return reasons;
}

/** The status document of one moment (pure). */
export function statusDocument(
  sources: Omit<StatusSources, "status" | "group"> & { group: string },
  status: SyncStatus,
): StatusDocument {
  const peers = latestPerDevice(status.peers);
  const waiting = waitingReasons(status);
  const state: FolderState = status.paused
    ? "paused"
    : status.indexing
    ? "scanning"
    : waiting.length > 0 || !status.inSync
    ? "syncing"
    : peers.some((p) => p.connected)
    ? "in sync"
    : "no peers";
  return {
    folder: {
      path: sources.folder,
      files: status.totals.files,
      bytes: status.totals.bytes,
      state,
      waiting,
      mode: status.mode,
      differing: status.differing,
      localChanges: status.localChanges,
    },
    group: sources.group,
    device: sources.device,
    peers: peers.map((p) => ({
      name: p.name ?? null,
      fingerprint: p.fingerprint,
      address: p.address ?? null,
      connected: p.connected,
      connectedSince: p.connectedAt,
      disconnectedAt: p.disconnectedAt ?? null,
      indexReceived: p.indexReceived,
      indexSent: p.indexAcked,
      confirmed: p.confirmed,
      bytesReceived: p.bytesReceived,
      bytesSent: p.bytesSent,
    })),
    transfers: status.transfers.map((t) => ({
      path: t.path,
      done: t.bytesDone,
      total: t.bytesTotal,
      startedAt: t.startedAt,
    })),
    pending: status.pending,
    retrying: status.retrying,
    bytesReceived: status.bytesReceived,
    bytesSent: status.bytesSent,
    bytesReused: status.bytesReused,
  };
}

/** The control API's status route. */
export function statusRoutes(sources: StatusSources): ControlRoutes {
  return {
    "GET /api/status": () => ({
      status: 200,
      body: statusDocument(
        { ...sources, group: sources.group() },
        sources.status(),
      ),
    }),
  };
}
