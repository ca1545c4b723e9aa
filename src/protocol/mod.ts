/**
 * The application-level wire protocol: message types, their binary codec,
 * the limits every field is held to, and validation of wire paths. A leaf
 * module: it knows bytes and messages, not sockets, crypto or the index.
 * @module
 */
export type {
  Availability,
  BlockRequest,
  BlockResponse,
  ChunkCompression,
  ChunkRange,
  ChunkRequest,
  ChunkResponse,
  ChunkStatus,
  GroupRekey,
  Hello,
  IndexAck,
  IndexBatch,
  IndexDiff,
  InSync,
  Message,
  MessageType,
  RecordRequest,
  WireChunk,
  WireChunkEdit,
  WireFileRecord,
  WireKind,
  WireVersionEntry,
} from "./messages.ts";
export {
  decodeMessage,
  decodeOwnedMessage,
  encodedRecordSize,
  encodeMessage,
  encodeMessageParts,
  INDEX_BATCH_HEADER_BYTES,
  MESSAGE_TYPE_CODES,
} from "./codec.ts";
export { BufferPool, POOLED_MAX, receivedMessages } from "./buffer_pool.ts";
export {
  checkBlockResponseMatchesRequest,
  checkResponseMatchesRequest,
} from "./response_match.ts";
export {
  caseFoldKey,
  LOCAL_NAMING_RULES,
  type NamingRules,
  validateWirePath,
  wirePathProblem,
} from "./wire_path.ts";
export { truncateUtf8, utf8Length } from "./_utf8.ts";
export {
  InvalidPathError,
  type InvalidPathReason,
  LimitExceededError,
  MalformedMessageError,
  ProtocolError,
  UnsupportedVersionError,
} from "./errors.ts";
export {
  BLOCK_SIGNATURE_SIZE,
  blocksOf,
  DELTA_BLOCK_SIZE,
  HASH_SIZE,
  MAX_AVAILABILITY_RANGES,
  MAX_BLOCKS_PER_CHUNK,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_MESSAGE_SIZE,
  MAX_MTIME_NS,
  MAX_NAME_COMPONENT_BYTES,
  MAX_PATH_BYTES,
  MAX_PEER_NAME_BYTES,
  MAX_RECORDS_PER_BATCH,
  MAX_REQUEST_ID,
  MAX_SEQUENCE,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_VERSION_COUNTER,
  MAX_VERSION_ENTRIES,
  MIN_MTIME_NS,
  PROTOCOL_VERSION,
  U64_MAX,
} from "./limits.ts";
export { lazyArray } from "./lazy_array.ts";
