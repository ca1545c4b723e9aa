/**
 * The planner's quick actions carried out on disk and in the index: making
 * directories and links, setting metadata, deleting, storing merged
 * versions and moving a conflict's losing copy aside. Each runs its disk
 * change and the record it stores under the {@linkcode ApplyGate}, so the
 * scanner never sees one without the other, and first checks, under the
 * gate, two things (either failing is a `LocalChangeError`; the caller
 * rescans and plans again):
 * - the decision is still current ({@linkcode assertDecisionCurrent}): the
 *   index holds the very record the decision was planned against. A local
 *   edit the scanner recorded after planning is a new record, and applying
 *   a decision made without it would overwrite or delete it;
 * - the disk is what the index holds (an edit the index has not seen yet).
 * Stored records keep the peer's version merged with ours and the stat
 * left on disk, which is what keeps our own writes from coming back as
 * local edits.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  bump,
  type FileRecord,
  type IndexStore,
  parentRel,
  type StoredStat,
  toOsPath,
} from "../../index/mod.ts";
import { echoStateOf } from "./echo_filter.ts";
import { LocalChangeError } from "./errors.ts";
import { execMode, mtimeValue } from "./file_mode.ts";
import { mergedRecord, mergedVersion } from "./action.ts";
import {
  assertUnchanged,
  checkParentDirs,
  makeDir,
  removePath,
} from "./safe_paths.ts";
import { writeSymlink } from "./symlink_writer.ts";
import { partName } from "./part_name.ts";
import { removeExactly } from "./exact_replace.ts";
import {
  changedBy,
  type Decision,
  type LocalOpsContext,
} from "./ops_context.ts";
import { keepAside, keepVersion } from "./keep_version.ts";

const log = getLogger(["dsync", "sync", "local_ops"]);

const IS_WINDOWS = Deno.build.os === "windows";

/**
 * Throws {@linkcode LocalChangeError} unless the index still holds the
 * record `d` was planned against (same sequence; none when there was
 * none). Call it under the gate, right before changing the disk: between
 * planning and applying, the scanner may have recorded a local edit of the
 * path, and a decision made without it must not replace or delete it.
 */
export function assertDecisionCurrent(
  store: Pick<IndexStore, "sequenceOf">,
  d: Decision,
): void {
  const now = store.sequenceOf(d.path);
  if (now === d.local?.sequence) return;
  throw new LocalChangeError(
    d.path,
    `The index of "${d.path}" changed after the peer's change was planned`,
  );
}

/** A directory that must be removed is not empty (entries the peer did not know of). */
export class DirectoryNotEmptyError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`Directory "${path}" is not empty`);
    this.name = "DirectoryNotEmptyError";
    this.path = path;
  }
}

/**
 * The record to store once `d.remote` is on disk: the peer's record with
 * the merged version and the local fields of `info`.
 */
export function appliedRecord(d: Decision, info?: Deno.FileInfo): FileRecord {
  const { inode: _i, dev: _d, ...rest } = d.remote;
  return {
    ...rest,
    version: mergedVersion(d.local, d.remote),
    sequence: 0,
    ...(info?.ino == null ? {} : { inode: info.ino }),
    ...(info?.dev == null ? {} : { dev: info.dev }),
  };
}

/** `stat` unless it is a tombstone's. */
export function liveStat(stat: StoredStat | undefined): StoredStat | undefined {
  return stat === undefined || stat.deleted ? undefined : stat;
}

/** Stores the merged versions of `merge-version` decisions in one transaction. */
export async function storeMerges(
  ctx: LocalOpsContext,
  ds: readonly Decision[],
): Promise<void> {
  if (ds.length === 0) return;
  await ctx.gate.run(() => {
    // Plan against the record as it is now, in case it changed meanwhile.
    ctx.store.putMany(ds.map((d) => {
      const local = ctx.store.get(d.path);
      const merged = mergedRecord(local, d.remote);
      return local === undefined ? { ...merged, sequence: 0 } : merged;
    }));
    for (const d of ds) ctx.echo.stored(d.path, ctx.sourceOf?.(d.remote));
  });
}

/** Creates the directory of `d.remote` (removing an indexed file in its way). */
export async function applyMkdir(
  ctx: LocalOpsContext,
  d: Decision,
): Promise<void> {
  await ctx.gate.run(async () => {
    assertDecisionCurrent(ctx.store, d);
    const expected = liveStat(ctx.store.getStat(d.path));
    if (expected !== undefined && expected.kind !== "dir") {
      await keepVersion(ctx, d.path, expected, "deleted", changedBy(ctx, d));
      const outcome = await removePath(ctx.folder, d.path, { expected });
      if (outcome === "not-empty") throw new DirectoryNotEmptyError(d.path);
      log.info("{path} became a directory on a peer: replaced the {kind}", {
        path: d.path,
        kind: expected.kind,
      });
    }
    try {
      await makeDir(ctx.folder, d.path);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new LocalChangeError(
          d.path,
          `Cannot create directory "${d.path}": an entry the index has not seen is there`,
        );
      }
      throw err;
    }
    const info = await Deno.lstat(toOsPath(ctx.folder, d.path));
    ctx.store.put(appliedRecord(d, info));
    // Told, not remembered as an echo: a batch naming the directory covers
    // what appears in it, which must not be skipped with it.
    ctx.echo.stored(d.path, ctx.sourceOf?.(d.remote));
  });
}

/**
 * Makes room for the file of `d.remote` where the index holds a live
 * directory: removes that directory if it is empty and unchanged and
 * stores its tombstone under a new local counter, so the path can be
 * planned again: the peer's file and the tombstone are concurrent, and
 * the file wins as an edit beats a delete. Returns `"not-empty"`, changing nothing, while
 * the directory still holds entries (their deletes usually come in the
 * same round: try again after them).
 */
export async function clearDirectoryForFile(
  ctx: LocalOpsContext,
  d: Decision,
): Promise<"removed" | "not-empty"> {
  return await ctx.gate.run(async () => {
    const local = ctx.store.get(d.path);
    if (local === undefined || local.deleted || local.kind !== "dir") {
      return "removed"; // changed meanwhile: nothing in the way any more
    }
    const expected = liveStat(ctx.store.getStat(d.path));
    const outcome = await removePath(
      ctx.folder,
      d.path,
      expected === undefined ? {} : { expected },
    );
    if (outcome === "not-empty") return "not-empty";
    // The removal is a change of this replica and carries its own counter:
    // a tombstone with the live directory's very version would equal that
    // directory on the other peers, and two records with one version and
    // different states never converge. Against the peer's file the new
    // tombstone is concurrent, and an edit beats a delete.
    ctx.store.put({
      ...local,
      deleted: true,
      version: bump(local.version, ctx.store.replicaId),
      sequence: 0,
    });
    ctx.echo.remember(d.path, "absent");
    log.info("{path} became a file on a peer: removed the directory", {
      path: d.path,
    });
    return "removed";
  });
}

/** Places the symlink of `d.remote` (removing an empty indexed directory in its way). */
export async function applySymlink(
  ctx: LocalOpsContext,
  d: Decision,
): Promise<void> {
  await ctx.gate.run(async () => {
    assertDecisionCurrent(ctx.store, d);
    let expected = liveStat(ctx.store.getStat(d.path));
    if (expected?.kind === "dir") {
      const outcome = await removePath(ctx.folder, d.path, { expected });
      if (outcome === "not-empty") throw new DirectoryNotEmptyError(d.path);
      expected = undefined;
    }
    await keepVersion(ctx, d.path, expected, "replaced", changedBy(ctx, d));
    const info = await writeSymlink(
      ctx.folder,
      d.path,
      d.remote.symlinkTarget ?? "",
      expected,
    );
    ctx.store.put(appliedRecord(d, info));
    ctx.echo.remember(d.path, echoStateOf(info));
  });
}

/**
 * The OS path of the local entry at `path`, after checking it is still what
 * the index holds; throws {@linkcode LocalChangeError} otherwise.
 */
async function unchangedEntry(
  ctx: LocalOpsContext,
  path: string,
): Promise<string> {
  const os = await checkParentDirs(ctx.folder, path);
  if (os === undefined) {
    throw new LocalChangeError(path, `"${path}" disappeared`);
  }
  await assertUnchanged(path, os, ctx.store.getStat(path));
  return os;
}

/** Sets the mtime and exec bit of `d.remote` on the existing, unchanged file. */
export async function applyMetadata(
  ctx: LocalOpsContext,
  d: Decision,
): Promise<void> {
  await ctx.gate.run(async () => {
    assertDecisionCurrent(ctx.store, d);
    const os = await unchangedEntry(ctx, d.path);
    if (!IS_WINDOWS) {
      const mode = ((await Deno.lstat(os)).mode ?? 0o644) & 0o7777;
      const wanted = execMode(mode, d.remote.exec);
      if (wanted !== mode) await Deno.chmod(os, wanted);
    }
    await Deno.utime(os, new Date(), mtimeValue(d.remote.mtimeNs));
    const info = await Deno.lstat(os);
    ctx.store.put(appliedRecord(d, info));
    ctx.echo.remember(d.path, echoStateOf(info, d.remote.hash));
  });
}

/** Outcome of {@linkcode applyDeletes}. */
export interface DeleteOutcome {
  /** Paths removed (or already absent) and stored as tombstones. */
  readonly done: string[];
  /** Directories left because they still hold entries. */
  readonly notEmpty: string[];
  readonly failed: { path: string; error: Error }[];
}

/**
 * Removes the entries of delete decisions, deepest first, each only if it
 * is what the index holds, and stores their tombstones; then removes parent
 * directories that the index holds as deleted and that are now empty.
 */
export async function applyDeletes(
  ctx: LocalOpsContext,
  ds: readonly Decision[],
): Promise<DeleteOutcome> {
  const depth = (p: string) => p.split("/").length;
  const sorted = [...ds].sort((a, b) =>
    depth(b.path) - depth(a.path) || (a.path < b.path ? 1 : -1)
  );
  const outcome: DeleteOutcome = { done: [], notEmpty: [], failed: [] };
  await ctx.gate.run(async () => {
    const tombstones: FileRecord[] = [];
    for (const d of sorted) {
      try {
        assertDecisionCurrent(ctx.store, d);
        const expected = liveStat(ctx.store.getStat(d.path));
        const removed = expected !== undefined && expected.kind !== "dir"
          ? await removeFileExactly(ctx, d.path, expected, changedBy(ctx, d))
          : await removePath(
            ctx.folder,
            d.path,
            expected === undefined ? {} : { expected },
          );
        if (removed === "not-empty") {
          outcome.notEmpty.push(d.path);
          continue;
        }
        tombstones.push(appliedRecord(d));
        ctx.echo.remember(d.path, "absent");
        outcome.done.push(d.path);
      } catch (err) {
        outcome.failed.push({
          path: d.path,
          error: err instanceof Error ? err : new Error(String(err)),
        });
      }
    }
    ctx.store.putMany(tombstones);
    for (const path of outcome.done) await removeDeletedParents(ctx, path);
  });
  return outcome;
}

/**
 * Removes the file or symlink the index holds at `path` through
 * `removeExactly`: a local write that lands at the last moment is never
 * deleted with it.
 */
async function removeFileExactly(
  ctx: LocalOpsContext,
  path: string,
  expected: StoredStat,
  by: string,
): Promise<"removed" | "absent"> {
  const os = await checkParentDirs(ctx.folder, path);
  if (os === undefined) return "absent";
  const dirRel = parentRel(path);
  const removed = removeExactly({
    relPath: path,
    osPath: os,
    asideOsPath: toOsPath(
      ctx.folder,
      (dirRel === "" ? "" : `${dirRel}/`) +
        partName(path.slice(path.lastIndexOf("/") + 1)),
    ),
    expected,
    conflictTag: ctx.store.replicaId.toString(16).padStart(16, "0").slice(0, 8)
      .toUpperCase(),
    ...(ctx.versions === undefined || expected.kind !== "file" ? {} : {
      takeOld: (aside: string) =>
        keepAside(ctx.versions!, aside, path, "deleted", by),
    }),
  });
  return removed ? "removed" : "absent";
}

/** Removes the empty parents of `path` that the index holds as deleted. */
async function removeDeletedParents(
  ctx: LocalOpsContext,
  path: string,
): Promise<void> {
  for (let cut = path.lastIndexOf("/"); cut > 0; cut = path.lastIndexOf("/")) {
    path = path.slice(0, cut);
    const stat = ctx.store.getStat(path);
    if (stat === undefined || !stat.deleted) return;
    try {
      const removed = await removePath(ctx.folder, path);
      if (removed === "not-empty") return;
      if (removed === "removed") ctx.echo.remember(path, "absent");
    } catch {
      return; // a parent that became a link or file is left alone
    }
  }
}

/**
 * Moves the local entry of `d.path` (the losing side of a conflict) to
 * `conflictPath`, if the decision is current and the entry is still what
 * the index holds. The caller holds the gate. A file that loses to a file
 * is moved in the same gated step that puts the winner in its place (see
 * `Puller`), so the path is never empty and nothing is recorded for it but
 * the winner, with both versions merged.
 */
export async function moveConflictLoser(
  ctx: LocalOpsContext,
  d: Decision,
  conflictPath: string,
): Promise<void> {
  assertDecisionCurrent(ctx.store, d);
  const os = await unchangedEntry(ctx, d.path);
  const target = toOsPath(ctx.folder, conflictPath);
  try {
    await Deno.lstat(target);
    throw new LocalChangeError(
      d.path,
      `Conflict copy name "${conflictPath}" is taken`,
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.rename(os, target);
}

/**
 * {@linkcode moveConflictLoser} on its own, under the gate: for a loser
 * that is replaced by a directory or a link (rare), which is put in place
 * afterwards. The caller rescans both paths: the copy becomes a new file,
 * the path a delete of this device's copy, concurrent with the winner (so
 * no peer applies it over the winner), and then the winner is pulled.
 */
export async function renameConflictLoser(
  ctx: LocalOpsContext,
  d: Decision,
  conflictPath: string,
): Promise<void> {
  await ctx.gate.run(() => moveConflictLoser(ctx, d, conflictPath));
}
