/**
 * What the sync engine shows of itself: a snapshot for the UI, and the
 * totals of a run.
 * @module
 */

import type { FolderMode, Transfer } from "./pull/mod.ts";

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
  /**
   * Of `bytesSent`, chunks of files still being received here, served
   * from their `.part` (swarming).
   */
  readonly partialBytesSent?: number;
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
  /** Deletes staged until the peers' batches settle, then judged at once. */
  readonly deletesSettling: number;
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
