/**
 * The sync engine's decisions and its local file-application layer: the
 * planner (what to do about a peer's record), conflict copy names, atomic
 * `.part` writes, safe placement and removal of entries, leftover `.part`
 * cleanup, local chunk reuse, echo suppression and per-chunk LZ4.
 * @module
 */

export {
  type Action,
  applyRemote,
  conflictWinner,
  identicalContent,
  lastModifier,
  mergedRecord,
  mergedVersion,
  plan,
  type PlanContext,
} from "./planner.ts";
export { conflictName, splitExtension } from "./conflict_name.ts";
export {
  ContentMismatchError,
  LocalChangeError,
  UnsafePathError,
} from "./errors.ts";
export {
  assertUnchanged,
  checkParentDirs,
  checkRelPath,
  ensureParentDirs,
  localChangeOf,
  makeDir,
  removeEmptyParents,
  type RemoveOptions,
  type RemoveOutcome,
  removePath,
} from "./safe_paths.ts";
export {
  type BatchOutcome,
  commitBatch,
  type Committed,
  PART_FILE_PATTERN,
  PartFile,
  partName,
  type PartTarget,
  partTargetName,
  syncDir,
  writeSymlink,
} from "./atomic_writer.ts";
export {
  type LeftoverPart,
  LeftoverParts,
  type LeftoverPartsOptions,
  type PartCleanupOptions,
  removeLeftoverParts,
  removeStrayPart,
} from "./part_cleanup.ts";
export {
  type ChunkLocation,
  findLocalChunk,
  LocalChunkIndex,
  type LocalChunkIndexOptions,
  readChunkVerified,
} from "./chunk_source.ts";
export {
  EchoFilter,
  type EchoFilterOptions,
  type EchoState,
  echoStateOf,
} from "./echo_filter.ts";
export {
  compressIfWorthwhile,
  decompressChunk,
  DecompressionError,
  type EncodedChunk,
  LZ4_AVAILABLE,
} from "./chunk_compression.ts";
export {
  type PeerChannel,
  type PeerPool,
  type PeerPoolEvents,
  type PeerStatus,
  type RunTotals,
  SyncEngine,
  type SyncEngineOptions,
  type SyncStatus,
} from "./engine.ts";
export {
  ChunkFetcher,
  type ChunkFetcherOptions,
  type ChunkSink,
  type ChunkSource,
  NoSourceError,
} from "./chunk_fetcher.ts";
export {
  type PullCounters,
  Puller,
  PullerClosedError,
  type PullerOptions,
  type Transfer,
} from "./puller.ts";
export {
  type LocalIndexView,
  type PeerLink,
  PeerSession,
  type PeerSessionOptions,
  type RemoteIndexView,
  SameReplicaError,
  SessionProtocolError,
  type SessionState,
} from "./peer_session.ts";
export {
  type LocalPathRow,
  type LocalTotals,
  type RemoteEntry,
  RemoteIndex,
} from "./remote_index.ts";
export {
  answerChunkRequest,
  type ChunkAnswer,
  ChunkResponder,
  type ChunkResponderOptions,
  locateEntry,
  TooManyRequestsError,
} from "./responder.ts";
export {
  ChunkHashMismatchError,
  ChunkRequester,
  type ChunkRequesterOptions,
  ChunkUnavailableError,
  PeerGoneError,
  UnsolicitedResponseError,
} from "./chunk_requests.ts";
export {
  CaseCollisionError,
  detectCaseInsensitive,
  type FromWireContext,
  fromWireRecord,
  toWireRecord,
  WireRecordError,
  wireRecordProblem,
} from "./wire_record.ts";
export { ApplyGate } from "./apply_gate.ts";
export { CaseFoldIndex } from "./case_fold.ts";
export {
  type SmallFile,
  type SmallFileOutcome,
  writeSmallFiles,
} from "./small_file_batch.ts";
export {
  type Decision,
  DirectoryNotEmptyError,
  type LocalOpsContext,
} from "./local_ops.ts";
