/**
 * The local index of a folder: scanning, hashing, chunking, ignore rules and
 * the SQLite store of file records, and the peers' records beside it in the
 * same database (the remote index).
 * @module
 */

export {
  ALWAYS_IGNORED,
  DEFAULT_DSYNCIGNORE,
  ensureIgnoreFile,
  IGNORE_FILE,
  IgnoreRules,
  isAlwaysIgnoredName,
} from "./ignore_rules.ts";
export {
  findLookAlikes,
  hasInvisibleCharacter,
  lookAlikeKey,
  type LookAlikeReport,
} from "./look_alike_names.ts";
export {
  FILE_KINDS,
  type FileKind,
  type FileRecord,
  sameContent,
} from "./file_record.ts";
export {
  bump,
  compare,
  counterOf,
  decodeVersion,
  EMPTY_VERSION,
  encodeVersion,
  MAX_VERSION_COUNTER,
  merge,
  overflowReplica,
  type VersionCounter,
  versionOf,
  type VersionOrder,
  type VersionVector,
} from "./version_vector.ts";
export {
  baseName,
  isWithin,
  joinRel,
  nativeToWirePath,
  OS_SEP,
  parentRel,
  type PathPlatform,
  separatorOf,
  toOsPath,
  toRelPath,
  wireToNativePath,
} from "./rel_path.ts";
export {
  CONTROL_FILE,
  CONTROL_TOKEN_FILE,
  DEVICE_KEY_FILE,
  GROUP_KEY_FILE,
  INDEX_FILE,
  isInStateDir,
  LOCK_FILE,
  MEMBERS_FILE,
  PAUSED_FILE,
  STATE_DIR,
  VERSIONS_DIR,
} from "./state_dir.ts";
export {
  CHUNK_ENTRY_BYTES,
  chunkBytesCovered,
  chunkCountOf,
  decodeChunks,
  encodeChunks,
  encodeChunksOf,
  fileHashOfList,
  packChunkBytes,
  packChunks,
  PackedChunk,
  withLazyChunks,
} from "./chunk_list.ts";
export {
  IndexCorruptError,
  IndexSchemaError,
  IndexStore,
  type IndexStoreOptions,
  type LocalStatUpdate,
  type StoredChange,
  type StoredStat,
  TOMBSTONE_RETENTION_MS,
} from "./store.ts";
export {
  ChunkListGoneError,
  type HeldMark,
  type LocalPathRow,
  type LocalTotals,
  type RemoteEntry,
  RemoteIndex,
} from "./remote_index.ts";
export {
  emptyScanSummary,
  type FileHasher,
  FolderUnavailableError,
  Scanner,
  type ScannerOptions,
  type ScanSummary,
} from "./scanner.ts";
export {
  blake3,
  BLAKE3_LEN,
  Blake3Hasher,
  fileHashOf,
  fileHashOfChunks,
  fromHex,
  sameBytes,
  toHex,
} from "./hash.ts";
export {
  AVG_CHUNK,
  Chunker,
  GEAR,
  MASK_L,
  MASK_S,
  MAX_CHUNK,
  MIN_CHUNK,
  nextCut,
} from "./chunker.ts";
export {
  type ChunkInfo,
  digestBytes,
  digestFile,
  type FileDigest,
} from "./file_digest.ts";
export {
  ChunkDiffError,
  type ChunkEdit,
  type ChunkListDiff,
  chunkListHash,
  diffChunkLists,
  type DiffClaim,
  type ListChunk,
  rebuildChunkList,
} from "./record_diff.ts";
export { type PreviousList, PreviousLists } from "./previous_lists.ts";
export {
  HasherPool,
  HasherPoolClosedError,
  type HasherPoolOptions,
} from "./hasher_pool.ts";
