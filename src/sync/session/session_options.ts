/**
 * What a `PeerSession` works with: the link to its peer, the two
 * indexes as it reads and writes them, and what it reports (its options),
 * and the progress it shows.
 * @module
 */

import type { NameReports } from "./name_reports.ts";
import type { IntakeBudget } from "./intake_quota.ts";
import type {
  FileRecord,
  HeldMark,
  PreviousList,
  VersionVector,
} from "../../index/mod.ts";
import type {
  Availability,
  BlockRequest,
  ChunkRequest,
  Message,
  WireFileRecord,
} from "../../protocol/mod.ts";

/** How a session talks to its peer: the pool's channel, or a fake in tests. */
export interface PeerLink {
  /** Sends one encoded message, maybe in pieces; resolves once written. */
  send(bytes: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Ends the connection at once, reporting `error`. */
  close(error: Error): void;
}

/** The local index as a session reads it. */
export interface LocalIndexView {
  readonly replicaId: bigint;
  /** Highest sequence assigned so far. */
  readonly maxSequence: number;
  since(sequence: number, limit: number): FileRecord[];
  /** The local record of `path` (to tell our own counters from inflated ones). */
  get?(path: string): FileRecord | undefined;
  /** The version of a big file at `path` replaced last (a record diff's base). */
  previousList?(path: string): PreviousList | undefined;
}

/** The remote index as a session writes it. */
export interface RemoteIndexView {
  maxSequence(replica: bigint): bigint;
  /**
   * The local records after `sequence` (at most `limit`, in order), each
   * marked with whether `replica`'s record of its path has exactly the local
   * version: the peer holds that state already, so it is not sent back.
   */
  heldSince?(
    replica: bigint,
    sequence: number,
    limit: number,
  ): readonly HeldMark[];
  storeBatch(
    replica: bigint,
    records: readonly FileRecord[],
    maxSequence: bigint,
  ): void;
  /** `replica`'s record of `path`: the base of a record diff (see `record_diffs.ts`). */
  get?(replica: bigint, path: string): FileRecord | undefined;
  /** True when some peer's record of `path` is stored (see `neverSeen`). */
  knows?(path: string): boolean;
  /** The version of our record of `path` (read alone: cheaper than `get`). */
  localVersion?(path: string): VersionVector | undefined;
  /** `localVersion` of many paths at once, by path (paths without a record absent). */
  localVersions?(paths: readonly string[]): Map<string, VersionVector>;
}

/** The session as its listener sees it (a `PeerSession`). */
export interface SessionHandle {
  /** The peer's display name, once it said hello. */
  readonly name: string | undefined;
  /** The peer's replica id, once it said hello. */
  readonly replica: bigint | undefined;
  /** Short form of the peer id, for logs. */
  readonly fingerprint: string;
  /** Sends one message to the peer. */
  send(message: Message): Promise<void>;
  /** Tells the peer we hold everything of its index we acked. */
  sendInSync(): void;
}

/**
 * What a session tells the folder's side about its peer, as calls: the
 * engine's `PeerLine` (`sync/peer_wiring.ts`) implements it and passes
 * records on to the puller.
 */
export interface SessionListener {
  /** The peer said hello. */
  hello(session: SessionHandle): void;
  /** Records received and stored in the remote index (sequence order). */
  records(session: SessionHandle, records: FileRecord[]): void;
  /** The peer's initial delta arrived completely. */
  initialDelta(session: SessionHandle): void;
  /** The peer removed a device from the group and sends the new secret. */
  groupRekey(
    session: SessionHandle,
    secret: Uint8Array,
    removed: Uint8Array,
  ): void;
  /**
   * The peer announced which chunks of a file it is still receiving it
   * holds (only a peer whose hello set `swarming` is sent ours).
   */
  availability(session: SessionHandle, availability: Availability): void;
}

/** Takes the peer's chunk requests (a `ChunkResponder` behind the engine's `PeerLine`). */
export interface ChunkServer {
  /** Queues `request`; throwing closes the connection (e.g. a flood). */
  handle(request: ChunkRequest | BlockRequest): void;
}

/** Options of a `PeerSession`. */
export interface PeerSessionOptions {
  readonly peerId: Uint8Array;
  /** The peer's device key, shown as its fingerprint (default: `peerId`). */
  readonly peerDevice?: Uint8Array | undefined;
  readonly link: PeerLink;
  readonly local: LocalIndexView;
  readonly remote: RemoteIndexView;
  /** Our display name and case sensitivity, sent in `Hello`. */
  readonly name: string;
  readonly caseInsensitive: boolean;
  /** Our file system holds any name POSIX allows (else: Windows rules), sent in `Hello`. */
  readonly posixNames: boolean;
  /**
   * Local records never announced (a receive-only folder's local
   * changes); the peer does not learn of them at all.
   */
  readonly withhold?: (record: FileRecord) => boolean;
  /** Where names kept apart are noted (kept across a peer's sessions; default: this session's own). */
  readonly names?: NameReports;
  /** While true, local changes are not announced (they are once it is false and `notifyLocalChanges` is called). */
  readonly held?: () => boolean;
  /** Wire record to domain record; undefined drops it, `WireRecordError` refuses it. */
  readonly convert: (wire: WireFileRecord) => FileRecord | undefined;
  /** Told what the peer says about the folder (the engine's `PeerLine`). */
  readonly listener?: Partial<SessionListener>;
  /** Answers the peer's chunk requests (the engine's `PeerLine`, to a `ChunkResponder`). */
  readonly chunks?: ChunkServer;
  /** Most records per batch (default 1000). */
  readonly batchRecords?: number;
  /** Most encoded bytes per batch, unless one record alone is larger (default 4 MiB). */
  readonly batchBytes?: number;
  /** Chunk bytes in flight to this peer (default 32 MiB). */
  readonly maxRequestBytes?: number;
  /**
   * BLAKE3 of each piece, end to end, on another thread that the pieces'
   * buffers are handed to and come back from as `pieces` (the node's `HasherPool.hashOwnedBytes`): the
   * peer's chunks are then checked there (see `chunk_requests.ts`).
   */
  readonly hashOffThread?: (
    pieces: readonly Uint8Array[],
  ) => Promise<{ digest: Uint8Array; pieces: readonly Uint8Array[] }>;
  /**
   * Our record of `path` holds a counter no device accepts any more (see
   * `poisoned_version.ts`): give it a version every device takes.
   */
  readonly repairPoisoned?: (path: string) => void;
  /** Index records per minute taken in from this peer (see `intake_quota.ts`). */
  readonly recordsPerMinute?: number;
  /** Deletions per minute of paths no one here had, taken in from this peer. */
  readonly neverSeenPerMinute?: number;
  /** Chunk entries per minute that this peer's records may list. */
  readonly chunksPerMinute?: number;
  /**
   * The peer's intake budget, kept across its connections (the quotas
   * above then come from it); default: a new one for this session.
   */
  readonly intakeBudget?: IntakeBudget;
  /** The clock of the quotas (tests). */
  readonly now?: () => number;
}

/** Progress of a session, for status displays. */
export interface SessionState {
  readonly helloReceived: boolean;
  readonly name: string | undefined;
  readonly replica: bigint | undefined;
  /** The peer's initial delta arrived (`last`). */
  readonly initialReceived: boolean;
  /** Our initial delta is complete and the peer acked everything sent. */
  readonly allAcked: boolean;
  /** Highest sequence of ours the peer acked. */
  readonly peerAck: bigint;
  /** Highest sequence of the peer's we stored. */
  readonly received: bigint;
  /** The peer's last `InSync` sequence, if any. */
  readonly peerInSync: bigint | undefined;
  /** The peer takes `Availability` messages (its hello set `swarming`). */
  readonly swarming: boolean;
  /** The peer's hello said it answers block requests (`block_requests.ts`). */
  readonly blockDeltas: boolean;
}
