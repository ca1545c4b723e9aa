/**
 * The apply room: putting a peer's change on this disk and in the index.
 * Whole files are written to a `.part` and renamed over the path (atomic
 * writer), many small ones at once (small-file batch); directories, links,
 * metadata, deletes and conflict copies are the local operations. Each
 * checks, under the {@linkcode ApplyGate}, that the disk is still what the
 * index holds (safe paths) and leaves an echo entry so the watcher does
 * not take our own writes for local edits. A full disk is noticed here.
 * Depends on nothing else in `sync/`.
 * @module
 */

export { type Action, mergedRecord, mergedVersion } from "./action.ts";
export { ApplyGate } from "./apply_gate.ts";
export { type Committed, PartFile } from "./atomic_writer.ts";
export { type PartTarget, type TargetChunk } from "./part_target.ts";
export { syncDir } from "./dir_sync.ts";
export { PART_FILE_PATTERN, partName, partTargetName } from "./part_name.ts";
export { writeSymlink } from "./symlink_writer.ts";
export { DiskFullNotice, isDiskFull } from "./disk_full.ts";
export {
  EchoFilter,
  type EchoFilterOptions,
  type EchoState,
  echoStateOf,
} from "./echo_filter.ts";
export {
  ContentMismatchError,
  LocalChangeError,
  UnsafePathError,
} from "./errors.ts";
export {
  appliedRecord,
  applyDeletes,
  applyMetadata,
  applyMkdir,
  applySymlink,
  assertDecisionCurrent,
  clearDirectoryForFile,
  DirectoryNotEmptyError,
  liveStat,
  moveConflictLoser,
  renameConflictLoser,
  storeMerges,
} from "./local_ops.ts";
export { keepAside, keepVersion } from "./keep_version.ts";
export {
  changedBy,
  type Decision,
  type LocalOpsContext,
} from "./ops_context.ts";
export { conflictName, splitExtension } from "./conflict_name.ts";
export { isActivePart } from "./part_registry.ts";
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
  type SmallFile,
  type SmallFileOutcome,
  writeSmallFiles,
} from "./small_file_batch.ts";
