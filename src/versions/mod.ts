/**
 * Versions: what a peer's change replaced or deleted, kept for a while so
 * it can be restored (naming, the store, retention and restore).
 * @module
 */

export {
  formatStamp,
  parseRestoreTime,
  parseVersionName,
  type VersionName,
  versionName,
} from "./version_name.ts";
export {
  type AgedVersion,
  type RetentionPolicy,
  versionsToFree,
  versionsToPrune,
} from "./retention.ts";
export {
  type KeepMode,
  type KeptVersion,
  moveFile,
  type PruneResult,
  type VersionKeeper,
  VersionStore,
} from "./version_store.ts";
export {
  chooseVersion,
  RestoreError,
  type RestoreOutcome,
  restorePath,
  restoreVersion,
} from "./restore.ts";
export { DEFAULT_KEEP_DAYS, defaultMaxBytes, versionsDir } from "./settings.ts";
