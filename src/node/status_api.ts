/**
 * `GET /api/status` of the control server: the node's whole state as one
 * JSON document, for `dsync status` and for scripts. It says "in sync" only
 * when it can prove it: the folder is indexed, nothing is queued, pending
 * or failing here, and every connected peer has both sent us its whole
 * index and confirmed that it holds everything of ours. Otherwise `waiting`
 * says what is missing, one reason a line. This module builds the
 * document; `status_routes.ts` serves it.
 * @module
 */
import type { LookAlikeReport } from "../index/mod.ts";
import type { FolderMode, PeerStatus, SyncStatus } from "../sync/mod.ts";
import type { Change, ConflictCopy } from "./change_feed.ts";
import { RateMeter } from "./rate_meter.ts";

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
  /**
   * Of `bytesSent`, chunks of files this device was still receiving,
   * served from their `.part` (swarming).
   */
  readonly bytesSentFromPartial: number;
  /** Current rates, bytes per second, from the peer and to it. */
  readonly rateIn: number;
  readonly rateOut: number;
  /**
   * How much of our folder the peer holds in our version, per its index
   * (null before its hello).
   */
  readonly holds: {
    readonly files: number;
    readonly bytes: number;
    /** 0–100, by bytes (by files for a folder of empty files). */
    readonly percent: number;
    /**
     * How sure the figure is: `confirmed` once the peer confirmed our
     * current index (exact); `confirming` while it has not (a lower bound:
     * a peer does not announce back what it takes from us, so the files
     * it pulled count only once it confirms); `last known` when it is
     * disconnected (as of then).
     */
    readonly known: HoldsKnown;
  } | null;
}

/** How sure a peer's `holds` figure is; see {@linkcode PeerReport}. */
export type HoldsKnown = "confirmed" | "confirming" | "last known";

/** How sure the `holds` figure of a peer in this state is (pure). */
export function holdsKnown(
  peer: { connected: boolean; confirmed: boolean },
): HoldsKnown {
  if (!peer.connected) return "last known";
  return peer.confirmed ? "confirmed" : "confirming";
}

/** Why a file is not synced. */
export type NotSyncedReason =
  /** It cannot be read here. */
  | "unreadable"
  /** Its name is not valid UTF-8 (shown with U+FFFD for the bad bytes). */
  | "invalid UTF-8 name"
  /** Ours, and `peer`'s file system cannot hold its name. */
  | "name not allowed on peer"
  /** `peer`'s, and this file system cannot hold its name. */
  | "name not allowed here";

/** A file that is not synced, and why. */
export interface NotSyncedFile {
  readonly path: string;
  readonly reason: NotSyncedReason;
  /** The peer concerned, for names one side cannot hold. */
  readonly peer?: string;
}

const NOT_SYNCED_REASONS: readonly NotSyncedReason[] = [
  "unreadable",
  "invalid UTF-8 name",
  "name not allowed on peer",
  "name not allowed here",
];

/** Every file that is not synced, from the engine's peers and the scanner (pure). */
export function notSyncedFiles(
  status: SyncStatus,
  unreadable: readonly string[],
  invalidNames: readonly string[] = [],
): NotSyncedFile[] {
  const files: NotSyncedFile[] = unreadable.map((path) => ({
    path,
    reason: "unreadable",
  }));
  for (const path of invalidNames) {
    files.push({ path, reason: "invalid UTF-8 name" });
  }
  for (const peer of latestPerDevice(status.peers)) {
    if (!peer.connected) continue;
    for (const path of peer.withheld ?? []) {
      files.push({
        path,
        reason: "name not allowed on peer",
        peer: label(peer),
      });
    }
    for (const path of peer.refused ?? []) {
      files.push({ path, reason: "name not allowed here", peer: label(peer) });
    }
  }
  return files;
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
  /** Bytes the transfers in progress still need, and when they end at the current rate. */
  readonly remaining: {
    readonly bytes: number;
    /** Seconds, or null when nothing arrives now. */
    readonly etaSeconds: number | null;
  };
  /** Last changes, newest last (at most 200). */
  readonly recent: readonly Change[];
  /** Conflict copies in the folder, with the file each one lost to. */
  readonly conflicts: readonly ConflictCopy[];
  /** Files here that are not synced, with the reason; counts per reason first. */
  readonly notSynced: {
    readonly counts: Readonly<Record<NotSyncedReason, number>>;
    readonly files: readonly NotSyncedFile[];
  };
  /** Paths queued, in progress or waiting for a peer. */
  readonly pending: number;
  /** Paths that failed to apply and wait for a retry. */
  readonly retrying: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly bytesReused: number;
  /**
   * Names a person cannot tell apart or read right: paths that differ only
   * by case, normalisation or invisible characters, and paths holding
   * invisible or reordering characters (bidi overrides).
   */
  readonly names: LookAlikeReport;
}

/** Where the status document's parts come from. */
export interface StatusSources {
  /** Absolute path of the folder. */
  readonly folder: string;
  readonly device: { readonly name: string; readonly fingerprint: string };
  /** Read at each request: a removal changes the group key. */
  readonly group: () => string;
  readonly status: () => SyncStatus;
  /** What the peer with replica id `replica` (hex) holds of ours. */
  readonly heldBy: (replica: string) => { files: number; bytes: number };
  readonly recent: () => readonly Change[];
  readonly conflicts: () => readonly ConflictCopy[];
  readonly unreadable: () => readonly string[];
  readonly invalidNames?: () => readonly string[];
  /** Look-alike and invisible names among the live paths (read at each request). */
  readonly names?: () => LookAlikeReport;
  readonly now: () => number;
}

/** What a status document adds to the engine's snapshot (read by the node). */
export interface StatusExtras {
  readonly folder: string;
  readonly device: { readonly name: string; readonly fingerprint: string };
  readonly group: string;
  readonly rates: ReadonlyMap<string, { in: number; out: number }>;
  /** By replica id (hex). */
  readonly held: ReadonlyMap<string, { files: number; bytes: number }>;
  /** Bytes per second arriving now, over all peers. */
  readonly receiveRate: number;
  readonly recent: readonly Change[];
  readonly conflicts: readonly ConflictCopy[];
  readonly unreadable: readonly string[];
  readonly invalidNames?: readonly string[];
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
  if (status.deletesSettling > 0) {
    reasons.push(
      `${
        count(status.deletesSettling, "delete")
      } from a peer being checked (more than half of the files would be held back)`,
    );
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

/**
 * The one rule for "in sync", shared by the log, the terminal, the API and
 * the page: the engine has nothing queued, pending or failing and holds
 * every connected peer's index, and every connected peer confirmed that it
 * holds our current index. `waiting` says what is missing otherwise.
 */
export function syncVerdict(
  status: SyncStatus,
): { inSync: boolean; waiting: string[] } {
  const waiting = waitingReasons(status);
  return { inSync: status.inSync && waiting.length === 0, waiting };
}

function holding(
  held: { files: number; bytes: number } | undefined,
  totals: { files: number; bytes: number },
  known: HoldsKnown,
): PeerReport["holds"] {
  if (held === undefined) return null;
  const percent = totals.bytes > 0
    ? (100 * held.bytes) / totals.bytes
    : totals.files > 0
    ? (100 * held.files) / totals.files
    : 100;
  return {
    files: held.files,
    bytes: held.bytes,
    percent: Math.min(100, Math.floor(percent * 10) / 10),
    known,
  };
}

/** The status document of one moment (pure). */
export function statusDocument(
  sources: StatusExtras,
  status: SyncStatus,
  names: LookAlikeReport = NO_NAMES,
): StatusDocument {
  const peers = latestPerDevice(status.peers);
  const { inSync, waiting } = syncVerdict(status);
  const remainingBytes = status.transfers.reduce(
    (sum, t) => sum + Math.max(0, t.bytesTotal - t.bytesDone),
    0,
  );
  const state: FolderState = status.paused
    ? "paused"
    : status.indexing
    ? "scanning"
    : !inSync
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
      bytesSentFromPartial: p.partialBytesSent ?? 0,
      rateIn: Math.round(sources.rates.get(p.fingerprint)?.in ?? 0),
      rateOut: Math.round(sources.rates.get(p.fingerprint)?.out ?? 0),
      holds: p.replica === undefined
        ? null
        : holding(sources.held.get(p.replica), status.totals, holdsKnown(p)),
    })),
    transfers: status.transfers.map((t) => ({
      path: t.path,
      done: t.bytesDone,
      total: t.bytesTotal,
      startedAt: t.startedAt,
    })),
    remaining: {
      bytes: remainingBytes,
      etaSeconds: remainingBytes > 0 && sources.receiveRate > 0
        ? Math.ceil(remainingBytes / sources.receiveRate)
        : remainingBytes === 0
        ? 0
        : null,
    },
    recent: sources.recent,
    conflicts: sources.conflicts,
    notSynced: (() => {
      const files = notSyncedFiles(
        status,
        sources.unreadable,
        sources.invalidNames,
      );
      const counts = Object.fromEntries(
        NOT_SYNCED_REASONS.map((r) => [r, 0]),
      ) as Record<NotSyncedReason, number>;
      for (const f of files) counts[f.reason]++;
      return { counts, files };
    })(),
    pending: status.pending,
    retrying: status.retrying,
    bytesReceived: status.bytesReceived,
    bytesSent: status.bytesSent,
    bytesReused: status.bytesReused,
    names,
  };
}

const NO_NAMES: LookAlikeReport = {
  twins: [],
  invisible: [],
  truncated: false,
};

/** Builds status documents, keeping the byte counters' rates between calls. */
export class StatusBuilder {
  readonly #sources: StatusSources;
  readonly #meter = new RateMeter();

  constructor(sources: StatusSources) {
    this.#sources = sources;
  }

  /** The document of this moment. */
  document(): StatusDocument {
    const src = this.#sources;
    const status = src.status();
    const now = src.now();
    const rates = new Map<string, { in: number; out: number }>();
    const held = new Map<string, { files: number; bytes: number }>();
    for (const peer of latestPerDevice(status.peers)) {
      rates.set(peer.fingerprint, {
        in: this.#meter.rate(`in ${peer.fingerprint}`, peer.bytesReceived, now),
        out: this.#meter.rate(`out ${peer.fingerprint}`, peer.bytesSent, now),
      });
      if (peer.replica !== undefined) {
        held.set(peer.replica, src.heldBy(peer.replica));
      }
    }
    return statusDocument(
      {
        folder: src.folder,
        device: src.device,
        group: src.group(),
        rates,
        held,
        receiveRate: this.#meter.rate("in", status.bytesReceived, now),
        recent: src.recent(),
        conflicts: src.conflicts(),
        unreadable: src.unreadable(),
        invalidNames: src.invalidNames?.() ?? [],
      },
      status,
      src.names?.() ?? NO_NAMES,
    );
  }
}
