/**
 * The hand-off from the planner (`pull/planner.ts`) to the apply room: what
 * to do locally about one remote record, and the record to store after
 * doing it. Defined here, on the writing side, so the planner depends on
 * what apply accepts and apply depends on nothing in pull.
 * @module
 */

import { type FileRecord, merge, type VersionVector } from "../../index/mod.ts";

/** What to do locally about one remote record; see `pull/planner.ts`. */
export type Action =
  | { readonly kind: "nothing" }
  | { readonly kind: "pull" }
  | { readonly kind: "metadata" }
  | { readonly kind: "mkdir" }
  | { readonly kind: "symlink" }
  | { readonly kind: "delete" }
  | { readonly kind: "conflict"; readonly winner: "local" | "remote" }
  | { readonly kind: "merge-version" };

/** The vector to store after applying `remote` over `local`. */
export function mergedVersion(
  local: FileRecord | undefined,
  remote: FileRecord,
): VersionVector {
  return local === undefined
    ? remote.version
    : merge(local.version, remote.version);
}

/**
 * The record to store for `merge-version`: the local record (the disk
 * matches it) with the merged vector, or the remote record when there is no
 * local one (a tombstone of a path we never had).
 */
export function mergedRecord(
  local: FileRecord | undefined,
  remote: FileRecord,
): FileRecord {
  if (local === undefined) return remote;
  return { ...local, version: merge(local.version, remote.version) };
}
