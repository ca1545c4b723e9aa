/**
 * The application messages peers exchange once the transport is up. These
 * are wire shapes: the sync engine converts them to and from its domain
 * records at its edge.
 */

/** What a record names. */
export type WireKind = "file" | "dir" | "symlink";

/** One content-defined chunk of a file. */
export interface WireChunk {
  /** Length in bytes, 1 to `MAX_CHUNK_SIZE`. */
  readonly length: number;
  /** BLAKE3 of the chunk, 32 bytes. */
  readonly hash: Uint8Array;
}

/** One replica's counter in a version vector. */
export interface WireVersionEntry {
  /** Replica id (unsigned 64-bit). */
  readonly replica: bigint;
  /** Changes made by that replica, 1 to 2^63 - 1. */
  readonly counter: bigint;
}

/**
 * A file, directory or symlink as announced to a peer.
 *
 * Shape rules (checked by the codec): a live file has a 32-byte hash and
 * chunks whose lengths sum to `size`; a live symlink has a 32-byte hash, a
 * `symlinkTarget`, size 0 and no chunks; a directory or deleted record has
 * size 0, an empty hash and no chunks; only live symlinks carry a target;
 * only files may be `exec`; `version` is sorted by strictly increasing
 * replica id and has 1 to 256 entries.
 */
export interface WireFileRecord {
  /** Relative, `/`-separated NFC path (see `validateWirePath`). */
  readonly path: string;
  readonly kind: WireKind;
  /** Size in bytes, 0 to 2^53 - 1. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch (signed 64-bit). */
  readonly mtimeNs: bigint;
  /** Executable bit (files only). */
  readonly exec: boolean;
  /** BLAKE3 of the content (file) or target (symlink); empty for dirs and deleted records. */
  readonly hash: Uint8Array;
  readonly chunks: readonly WireChunk[];
  readonly version: readonly WireVersionEntry[];
  /** Tombstone: the entry was deleted. */
  readonly deleted: boolean;
  /** The sender's local sequence number of this change, 1 to 2^63 - 1. */
  readonly sequence: bigint;
  /** Link target, only on live symlinks; 1 to 4096 UTF-8 bytes. */
  readonly symlinkTarget?: string;
}

/** First message in each direction after the handshake. */
export interface Hello {
  readonly type: "hello";
  readonly protocolVersion: 2;
  /** The sender's replica id for this folder (unsigned 64-bit). */
  readonly replicaId: bigint;
  /** Display name, at most 63 UTF-8 bytes, no control characters. */
  readonly name: string;
  /** Whether the sender's file system folds case (case-only renames collide there). */
  readonly caseInsensitive: boolean;
  /**
   * The sender's file system holds any name POSIX allows (`a:b.txt`);
   * absent or false: Windows naming rules (see `wire_path.ts`).
   */
  readonly posixNames: boolean;
  /**
   * The sender takes `Availability` messages and serves chunks of files it
   * is still receiving. A peer that did not set it is never sent one.
   */
  readonly swarming: boolean;
  /**
   * The sender takes `IndexDiff` messages (a big file's record as edits of
   * a version it holds). A peer that did not set it is never sent one.
   */
  readonly recordDiffs: boolean;
  /**
   * The sender answers `BlockRequest` messages (a changed chunk as the
   * blocks that differ from the asker's old bytes). A peer that did not set
   * it is never sent one.
   */
  readonly blockDeltas: boolean;
}

/**
 * Records in strictly increasing sequence order. `last` marks the end of the
 * initial delta; later live updates are batches too (with `last` set).
 */
export interface IndexBatch {
  readonly type: "index_batch";
  readonly records: readonly WireFileRecord[];
  readonly last: boolean;
}

/** The receiver stored the sender's records up to `sequence` (0: none yet). */
export interface IndexAck {
  readonly type: "index_ack";
  readonly sequence: bigint;
}

/** Asks for `length` bytes at `offset` of `path`, expected to hash to `hash`. */
export interface ChunkRequest {
  readonly type: "chunk_request";
  /** Request id (unsigned 32-bit), echoed in the response. */
  readonly id: number;
  readonly path: string;
  /** BLAKE3 of the chunk, 32 bytes. */
  readonly hash: Uint8Array;
  /** Byte offset in the file; `offset + length` is at most 2^53 - 1. */
  readonly offset: number;
  /** 1 to `MAX_CHUNK_SIZE` bytes. */
  readonly length: number;
}

/** Outcome of a chunk request. */
export type ChunkStatus = "ok" | "changed" | "not_found" | "refused";
/** How `ChunkResponse.data` is encoded. */
export type ChunkCompression = "none" | "lz4";

/**
 * Answer to the `ChunkRequest` with the same `id`. Only `ok` carries data:
 * `rawLength` bytes, raw or as an LZ4 block strictly shorter than
 * `rawLength`. Other statuses have empty data, `rawLength` 0 and no
 * compression.
 */
export interface ChunkResponse {
  readonly type: "chunk_response";
  readonly id: number;
  readonly status: ChunkStatus;
  readonly compression: ChunkCompression;
  readonly data: Uint8Array;
  /** Uncompressed length, 1 to `MAX_CHUNK_SIZE` when ok, else 0. */
  readonly rawLength: number;
}

/**
 * Status beacon: the sender has everything the receiver announced up to
 * `sequence` and nothing left to pull from it.
 */
export interface InSync {
  readonly type: "in_sync";
  readonly sequence: bigint;
}

/**
 * A member removed a device from the group: the group secret is replaced
 * by `secret` (32 bytes), which the receiver stores and proves from then
 * on; `removed` (the removed device's key, 32 bytes) is disconnected and
 * refused. Sent only inside channels whose peer proved the group.
 */
export interface GroupRekey {
  readonly type: "group_rekey";
  readonly secret: Uint8Array;
  readonly removed: Uint8Array;
}

/** Chunk indexes `start` to `start + count - 1` of a file. */
export interface ChunkRange {
  readonly start: number;
  /** 1 or more. */
  readonly count: number;
}

/**
 * Which chunks of the file `path` with content `hash` the sender holds in
 * the `.part` it is still filling, so the receiver may ask it for them.
 * `ranges` are sorted, disjoint and not adjacent; none at all: the sender
 * stopped pulling that version (done or given up).
 */
export interface Availability {
  readonly type: "availability";
  readonly path: string;
  /** The file hash of the version being pulled, 32 bytes. */
  readonly hash: Uint8Array;
  readonly ranges: readonly ChunkRange[];
}

/**
 * A run of a chunk list edit: keep the next `keep` chunks of the base list,
 * then skip `drop` of them, then insert `add` chunks (the next ones of
 * `IndexDiff.added`).
 */
export interface WireChunkEdit {
  readonly keep: number;
  readonly drop: number;
  readonly add: number;
}

/**
 * A live file's record whose chunk list is given as edits of the chunk list
 * of a version the receiver holds (`baseHash`, the file hash of that
 * version): what follows the last edit is kept to the end. The receiver
 * rebuilds the full list from its own copy of the base, checks it against
 * `listHash` (BLAKE3 of the lengths and hashes, see docs/PROTOCOL.md) and the
 * file hash, and answers `RecordRequest` when it cannot. Every other field
 * is the record's, as in `WireFileRecord`.
 */
export interface IndexDiff {
  readonly type: "index_diff";
  /** As `IndexBatch.last`: the sender's initial delta has been sent. */
  readonly last: boolean;
  readonly path: string;
  readonly exec: boolean;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly sequence: bigint;
  readonly version: readonly WireVersionEntry[];
  /** The file hash of the new version, 32 bytes. */
  readonly hash: Uint8Array;
  /** The file hash of the version the edits apply to, 32 bytes. */
  readonly baseHash: Uint8Array;
  /** Hash of the new full chunk list (lengths and hashes), 32 bytes. */
  readonly listHash: Uint8Array;
  /** Chunks in the new list, 0 to `MAX_CHUNKS_PER_RECORD`. */
  readonly chunkTotal: number;
  /** In base order, at least one; every edit after the first keeps 1 or more. */
  readonly edits: readonly WireChunkEdit[];
  /** The inserted chunks, in order: as many as the edits' `add` sum to. */
  readonly added: readonly WireChunk[];
}

/**
 * Asks for the sender's current record of `path` in full, after an
 * `IndexDiff` for it that the receiver could not rebuild (it lacks the base
 * or the result failed its check). Only valid after such a diff.
 */
export interface RecordRequest {
  readonly type: "record_request";
  readonly path: string;
}

/**
 * Asks for the chunk `ChunkRequest` would, as the fixed-size blocks
 * (`DELTA_BLOCK_SIZE`, the last one shorter) that differ from the bytes the
 * asker already holds at that range: `signatures` holds, block by block,
 * the first `BLOCK_SIGNATURE_SIZE` bytes of the BLAKE3 of the asker's old
 * block. A hint only: the asker verifies the assembled chunk against `hash`.
 */
export interface BlockRequest {
  readonly type: "block_request";
  /** Request id (unsigned 32-bit), echoed in the response. */
  readonly id: number;
  readonly path: string;
  /** BLAKE3 of the whole chunk, 32 bytes. */
  readonly hash: Uint8Array;
  readonly offset: number;
  /** 1 to `MAX_CHUNK_SIZE` bytes. */
  readonly length: number;
  /** `BLOCK_SIGNATURE_SIZE` bytes per block of the chunk's length. */
  readonly signatures: Uint8Array;
}

/**
 * Answer to the `BlockRequest` with the same `id`. Only `ok` carries a
 * `bitmap` (bit `i % 8` of byte `i / 8` set: block `i` differs and is in
 * `data`) and data: the differing blocks in order, `rawLength` bytes raw
 * or as an LZ4 block strictly shorter. Other statuses carry nothing.
 */
export interface BlockResponse {
  readonly type: "block_response";
  readonly id: number;
  readonly status: ChunkStatus;
  readonly compression: ChunkCompression;
  /** One bit per block of the request, `ceil(blocks / 8)` bytes when ok, else empty. */
  readonly bitmap: Uint8Array;
  /** Bytes of the differing blocks, 0 to `MAX_CHUNK_SIZE` (0 unless ok). */
  readonly rawLength: number;
  readonly data: Uint8Array;
}

/** Any application message. */
export type Message =
  | Hello
  | IndexBatch
  | IndexAck
  | ChunkRequest
  | ChunkResponse
  | InSync
  | GroupRekey
  | Availability
  | IndexDiff
  | RecordRequest
  | BlockRequest
  | BlockResponse;

/** The `type` tag of a message. */
export type MessageType = Message["type"];
