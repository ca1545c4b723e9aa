/**
 * The planner: given the local record of a path (if any) and a peer's record
 * of it, decides what must happen locally. Pure; version vectors decide.
 *
 * How a caller carries out each {@linkcode Action} (defined with
 * `mergedRecord` and `mergedVersion` in `apply/action.ts`, the apply room's
 * side of the hand-off):
 *
 * | action | on disk | in the index |
 * |---|---|---|
 * | `nothing` | nothing | nothing |
 * | `merge-version` | nothing (the disk already matches) | store `mergedRecord` |
 * | `pull` | fetch the remote content into a `.part`, commit it over the path | store the remote record with the merged version |
 * | `metadata` | set mtime and exec bit of the existing file | same |
 * | `mkdir` | create the directory (removing what else is there first) | same |
 * | `symlink` | create the link (replacing what is there) | same |
 * | `delete` | remove the path (only if it still is what the index holds) | store the remote tombstone with the merged version |
 * | `conflict` | see below | see below |
 *
 * "Store with the merged version" means the remote record with
 * `version = merge(local.version, remote.version)` (see
 * `mergedVersion`); when remote dominates this is just the remote's
 * vector; after a conflict it records that the conflict was resolved, so a
 * third replica that still holds the loser pulls the winner plainly instead
 * of making a second conflict copy.
 *
 * `conflict` is returned only when both sides are live with different
 * content (a copy must be kept):
 * - `winner: "remote"`: rename the local entry to its conflict name
 *   (`conflictName`), which then syncs as a new file, and apply the remote as
 *   {@linkcode applyRemote}`(undefined, remote)` says, with the merged version.
 * - `winner: "local"`: do nothing now, and in particular do not merge the
 *   vector: the peer holds the losing copy and makes the conflict copy when it
 *   plans our record (the decision is symmetric, see
 *   {@linkcode conflictWinner}). Merging here would make our record dominate
 *   theirs and their edit would be overwritten without a copy.
 *
 * An edit concurrent with a delete is not a `conflict` (there is nothing to
 * keep of the deleted side): the edit wins. Local live vs remote tombstone →
 * `nothing` (the peer brings the file back); local tombstone vs remote live →
 * the remote is applied (`pull`, `mkdir` or `symlink`).
 *
 * Index lost: a path that exists on disk without a usable history must never
 * be deleted nor silently overwritten. The scanner indexes such a path with a
 * fresh vector (concurrent with any peer's), which gives that by itself. A
 * caller that meets a path on disk that the index does not hold yet passes a
 * provisional record built from disk with `version: EMPTY_VERSION` (hash it if
 * it can, else an empty hash): a live local record with an empty vector is
 * treated as concurrent with everything, its last modifier being
 * `ctx.localReplica`.
 * @module
 */

import {
  compare,
  counterOf,
  FILE_KINDS,
  type FileRecord,
  sameBytes,
  type VersionVector,
} from "../../index/mod.ts";
import type { Action } from "../apply/mod.ts";

/** Facts the planner needs besides the two records. */
export interface PlanContext {
  /** This folder copy's replica id. */
  readonly localReplica: bigint;
}

const NOTHING: Action = Object.freeze({ kind: "nothing" });
const PULL: Action = Object.freeze({ kind: "pull" });
const METADATA: Action = Object.freeze({ kind: "metadata" });
const MKDIR: Action = Object.freeze({ kind: "mkdir" });
const SYMLINK: Action = Object.freeze({ kind: "symlink" });
const DELETE: Action = Object.freeze({ kind: "delete" });
const MERGE: Action = Object.freeze({ kind: "merge-version" });
const LOCAL_WINS: Action = Object.freeze({ kind: "conflict", winner: "local" });
const REMOTE_WINS: Action = Object.freeze({
  kind: "conflict",
  winner: "remote",
});

/**
 * True when two records hold the same data: both tombstones, both
 * directories, symlinks with the same target, or files with the same size,
 * hash and exec bit. Mtime and version are not compared, nor the size of a
 * symlink (the wire sends 0, the scanner records the target's length).
 */
export function identicalContent(a: FileRecord, b: FileRecord): boolean {
  return sameBytesOnDisk(a, b) && (a.kind !== "file" || a.exec === b.exec);
}

/** {@linkcode identicalContent} without the exec bit. */
function sameBytesOnDisk(a: FileRecord, b: FileRecord): boolean {
  if (a.deleted || b.deleted) return a.deleted && b.deleted;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "dir":
      return true;
    case "symlink":
      return (a.symlinkTarget ?? "") === (b.symlinkTarget ?? "");
    case "file":
      return a.size === b.size && sameBytes(a.hash, b.hash);
  }
}

/** True for a live local record with no history (see the module comment). */
function isProvisional(local: FileRecord): boolean {
  return !local.deleted && local.version.length === 0;
}

/**
 * The action that makes the disk hold `remote`, given what `local` holds,
 * regardless of versions: what to do once it is decided that the remote
 * wins. `merge-version` when the disk already matches.
 */
export function applyRemote(
  local: FileRecord | undefined,
  remote: FileRecord,
): Action {
  const live = local !== undefined && !local.deleted ? local : undefined;
  if (remote.deleted) return live === undefined ? MERGE : DELETE;
  switch (remote.kind) {
    case "dir":
      return live?.kind === "dir" ? MERGE : MKDIR;
    case "symlink":
      return live !== undefined && sameBytesOnDisk(live, remote)
        ? MERGE
        : SYMLINK;
    case "file":
      if (live === undefined || !sameBytesOnDisk(live, remote)) return PULL;
      return live.exec !== remote.exec || live.mtimeNs !== remote.mtimeNs
        ? METADATA
        : MERGE;
  }
}

/**
 * Decides what to do locally about `remote`, the peer's record of a path,
 * given `local`, this replica's record of it (undefined when the index has
 * none). See the module comment for how to carry out the result. Throws
 * `RangeError` when the two records name different paths.
 */
export function plan(
  local: FileRecord | undefined,
  remote: FileRecord,
  ctx: PlanContext,
): Action {
  if (local === undefined) return applyRemote(undefined, remote);
  if (local.path !== remote.path) {
    throw new RangeError(
      `Cannot plan "${remote.path}" against the record of "${local.path}"`,
    );
  }
  const order = isProvisional(local)
    ? "concurrent"
    : compare(remote.version, local.version);
  switch (order) {
    case "lesser":
    case "equal":
      return NOTHING;
    case "greater":
      return applyRemote(local, remote);
    case "concurrent":
      return planConcurrent(local, remote, ctx);
  }
}

function planConcurrent(
  local: FileRecord,
  remote: FileRecord,
  ctx: PlanContext,
): Action {
  if (identicalContent(local, remote)) return MERGE;
  if (local.deleted) return applyRemote(undefined, remote); // edit beats delete
  if (remote.deleted) return NOTHING; // the peer brings our edit back
  const winner = conflictWinner(local, remote, ctx);
  // Same bytes, only the exec bit differs: no copy worth keeping.
  if (sameBytesOnDisk(local, remote)) {
    return winner === "remote" ? METADATA : NOTHING;
  }
  return winner === "remote" ? REMOTE_WINS : LOCAL_WINS;
}

/**
 * The replica that made the latest change of a side, as far as the vectors
 * can tell: among the replicas whose counter in `v` is above their counter in
 * `other` (the changes the other side has not seen; one of them is the
 * latest on this side), the one with the highest counter, ties by larger
 * replica id. Counters count changes per replica and are not clocks, so this
 * is a deterministic stand-in, used only to break mtime ties. Undefined when
 * `v` has nothing `other` lacks.
 */
export function lastModifier(
  v: VersionVector,
  other: VersionVector,
): bigint | undefined {
  let best: { replica: bigint; counter: number } | undefined;
  for (const entry of v) {
    if (entry.counter <= counterOf(other, entry.replica)) continue;
    if (
      best === undefined || entry.counter > best.counter ||
      (entry.counter === best.counter && entry.replica > best.replica)
    ) {
      best = entry;
    }
  }
  return best?.replica;
}

function modifierOf(
  record: FileRecord,
  other: FileRecord,
  ctx: PlanContext,
): bigint | undefined {
  if (isProvisional(record)) return ctx.localReplica;
  return lastModifier(record.version, other.version);
}

/**
 * Which side of two concurrent, different records wins. A deleted side
 * never wins over a live one; then the newer mtime wins; ties go to the
 * larger replica id of each side's {@linkcode lastModifier}; what remains
 * (only reachable with malformed vectors) is settled by comparing hash,
 * kind, exec bit and symlink target, so the order is total and
 * `conflictWinner(a, b)` on one replica and `conflictWinner(b, a)` on the
 * other always pick the same record.
 */
export function conflictWinner(
  local: FileRecord,
  remote: FileRecord,
  ctx: PlanContext,
): "local" | "remote" {
  const c = rank(local, remote, ctx);
  return c > 0 ? "local" : "remote";
}

/** > 0 when `a` beats `b`, < 0 when `b` beats `a`, 0 when indistinguishable. */
function rank(a: FileRecord, b: FileRecord, ctx: PlanContext): number {
  if (a.deleted !== b.deleted) return a.deleted ? -1 : 1;
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs > b.mtimeNs ? 1 : -1;
  const ma = modifierOf(a, b, ctx);
  const mb = modifierOf(b, a, ctx);
  if (ma !== mb) {
    if (ma === undefined) return -1;
    if (mb === undefined) return 1;
    return ma > mb ? 1 : -1;
  }
  const h = compareBytes(a.hash, b.hash);
  if (h !== 0) return h;
  if (a.kind !== b.kind) {
    return FILE_KINDS.indexOf(a.kind) > FILE_KINDS.indexOf(b.kind) ? 1 : -1;
  }
  if (a.exec !== b.exec) return a.exec ? 1 : -1;
  const ta = a.symlinkTarget ?? "";
  const tb = b.symlinkTarget ?? "";
  return ta === tb ? 0 : ta > tb ? 1 : -1;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! > b[i]! ? 1 : -1;
  }
  return a.length === b.length ? 0 : a.length > b.length ? 1 : -1;
}
