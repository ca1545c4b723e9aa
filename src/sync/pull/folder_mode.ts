/**
 * Which way a folder's changes flow, as in Syncthing's folder types:
 * `send-receive` (both ways), `send-only` (this device publishes: peers'
 * changes are never applied here, and `override` pushes this state back
 * onto them), `receive-only` (this device mirrors: local edits are kept
 * and reported but never announced, and `revert` replaces them with the
 * group's). Pure deciders; the puller and the peer sessions ask them.
 * @module
 */

import { compare, type FileRecord } from "../../index/mod.ts";
import type { Action } from "../apply/mod.ts";

/** Which way a folder's changes flow. */
export type FolderMode = "send-receive" | "send-only" | "receive-only";

/**
 * True when the local record holds a change the group does not know: no
 * peer record has the same version or a newer one. A tombstone no peer
 * has a record of is none (nothing there, nothing to tell).
 */
export function isLocalChange(
  local: FileRecord | undefined,
  remotes: readonly FileRecord[],
): boolean {
  if (local === undefined) return false;
  if (local.deleted && remotes.length === 0) return false;
  return !remotes.some((r) => {
    const order = compare(local.version, r.version);
    return order === "equal" || order === "lesser";
  });
}

/**
 * Whether a peer's change planned as `action` is held back instead of
 * applied: in a send-only folder, always (only versions are merged where
 * the disk already matches); in a receive-only folder, where the local
 * record is a local change ({@linkcode isLocalChange}).
 */
export function holdsBack(
  mode: FolderMode,
  action: Action,
  localChange: boolean,
): boolean {
  if (action.kind === "nothing" || action.kind === "merge-version") {
    return false;
  }
  switch (mode) {
    case "send-receive":
      return false;
    case "send-only":
      return true;
    case "receive-only":
      return localChange;
  }
}

/**
 * Whether a local record is kept from the peers: in a receive-only
 * folder, each local change.
 */
export function withholds(mode: FolderMode, localChange: boolean): boolean {
  return mode === "receive-only" && localChange;
}
