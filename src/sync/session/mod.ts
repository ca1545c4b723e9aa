/**
 * The session room: one connected peer as the sync protocol sees it. The
 * peer session exchanges indexes (records converted from wire form and
 * checked at the edge, case collisions caught on case-insensitive disks)
 * and carries chunk requests both ways: ours to the peer (chunk and block
 * requests) and the peer's to us (responder, with its open-file cache).
 * @module
 */

export { CaseFoldIndex } from "./case_fold.ts";
export {
  ChunkHashMismatchError,
  ChunkRequester,
  type ChunkRequesterOptions,
  ChunkUnavailableError,
  PeerGoneError,
  UnsolicitedResponseError,
} from "./chunk_requests.ts";
export { PeerSession } from "./peer_session.ts";
export {
  BlockRequester,
  BlockRequestsBusyError,
  MAX_BLOCK_REQUESTS,
} from "./block_requests.ts";
export { answerBlockRequest, type BlockAnswer } from "./block_answer.ts";
export { isPoisoned, repairedVersion } from "./poisoned_version.ts";
export { NameReports } from "./name_reports.ts";
export {
  CHUNKS_BURST,
  CHUNKS_PER_MINUTE,
  IndexIntake,
  IntakeBudget,
  IntakeQuota,
  NEVER_SEEN_PER_MINUTE,
  RECORDS_PER_MINUTE,
} from "./intake_quota.ts";
export { SameReplicaError, SessionProtocolError } from "./session_errors.ts";
export {
  IndexChunkLookup,
  type IndexedChunks,
  type LocalRecords,
  recordHoldsChunk,
} from "./indexed_chunks.ts";
export {
  type ChunkServer,
  type LocalIndexView,
  type PeerLink,
  type PeerSessionOptions,
  type RemoteIndexView,
  type SessionHandle,
  type SessionListener,
  type SessionState,
} from "./session_options.ts";
export {
  type AnswerLink,
  type ChangedFiles,
  ChunkResponder,
  type ChunkResponderOptions,
  type PauseGate,
  TooManyRequestsError,
} from "./responder.ts";
export {
  answerChunkRequest,
  type ChunkAnswer,
  locateEntry,
  type PartialChunks,
} from "./chunk_answer.ts";
export {
  CaseCollisionError,
  detectCaseInsensitive,
  type FromWireContext,
  fromWireRecord,
  NameNotAllowedError,
  toWireRecord,
  WireRecordError,
  wireRecordProblem,
} from "./wire_record.ts";
