/**
 * The layout of `<folder>/.dsync/`, where dsync keeps a folder's own state:
 * every name in it is defined here once, so the directory reads at a glance
 * and a rename cannot leave one module looking in the old place. A leaf with
 * no imports, so the watcher's worker can use it without loading the index.
 * @module
 */

/** Folder (relative to the synced folder) that holds dsync's own state. */
export const STATE_DIR = ".dsync";

/** The index database (SQLite, WAL): replica id, records, peers' records. */
export const INDEX_FILE = "index.db";
/** The lock file one running dsync holds for the folder. */
export const LOCK_FILE = "lock";
/** Port and token of the running node's local control API. */
export const CONTROL_FILE = "control.json";
/** The status page's token (mode 0600), kept across restarts for bookmarks. */
export const CONTROL_TOKEN_FILE = "control.token";
/** The devices seen in the folder's group. */
export const MEMBERS_FILE = "members.json";
/** The group secret (32 bytes, mode 0600). */
export const GROUP_KEY_FILE = "group.key";
/** Versions of what peers' changes replaced or deleted. */
export const VERSIONS_DIR = "versions";
/** Whether the instance is paused (present while it is). */
export const PAUSED_FILE = "paused";
/** The device key (the 32-byte Ed25519 seed, mode 0600). */
export const DEVICE_KEY_FILE = "device.key";

/**
 * True when the first segment of the relative `/`-separated `relPath` names
 * the state directory in any case (a case-folding disk would open it).
 */
export function isInStateDir(relPath: string): boolean {
  const slash = relPath.indexOf("/");
  const first = slash < 0 ? relPath : relPath.slice(0, slash);
  return first.toLowerCase() === STATE_DIR;
}
