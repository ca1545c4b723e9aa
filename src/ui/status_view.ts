/** A peer as the status display shows it. */
export interface PeerView {
  name: string;
  fingerprint: string;
  /** The initial index exchange with this peer is complete. */
  synced: boolean;
}

/** A file being received. */
export interface TransferView {
  path: string;
  doneBytes: number;
  totalBytes: number;
  /** Epoch ms when the transfer started. */
  startedAt: number;
}

/** A snapshot of the node for the status display. */
export interface StatusView {
  peers: PeerView[];
  transfers: TransferView[];
  /** Files and bytes in the local index. */
  files: number;
  bytes: number;
  /** Paths that failed to apply and wait for a retry. */
  retrying: number;
  /** The folder is still being indexed for the first time. */
  indexing: boolean;
  /** Indexed, nothing left to pull or retry, every peer's index exchanged. */
  inSync: boolean;
  /** Files that cannot be synced (unreadable, names a peer cannot hold). */
  notSynced?: number;
  /** `dsync pause` holds every transfer and announcement. */
  paused?: boolean;
}
