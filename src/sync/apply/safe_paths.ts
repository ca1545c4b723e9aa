/**
 * Safe placement of entries inside the synced folder. Every helper takes the
 * folder and a canonical relative path, checks the path (a valid wire path,
 * not in `.dsync/`), and `lstat`s each parent component: a symlink or a
 * non-directory in the parent chain is refused with
 * {@linkcode UnsafePathError}, so nothing is ever written or removed outside
 * the folder, even when a peer made one of the parents a symlink. Links are
 * never followed. Checks and the operation that follows them are separate
 * system calls: a local process racing them can still win (POSIX offers no
 * portable way to close that window); dsync itself never creates such a race.
 * @module
 */

import { LOCAL_NAMING_RULES, wirePathProblem } from "../../protocol/mod.ts";
import {
  isInStateDir,
  STATE_DIR,
  type StoredStat,
  toOsPath,
} from "../../index/mod.ts";
import { LocalChangeError, UnsafePathError } from "./errors.ts";

const IS_WINDOWS = Deno.build.os === "windows";

/** Throws {@linkcode UnsafePathError} unless `relPath` may be written. */
export function checkRelPath(relPath: string): void {
  const problem = wirePathProblem(relPath, LOCAL_NAMING_RULES);
  if (problem !== null) {
    throw new UnsafePathError(
      relPath,
      `Refusing path "${relPath}": ${problem}`,
    );
  }
  if (isInStateDir(relPath)) {
    throw new UnsafePathError(
      relPath,
      `Refusing path "${relPath}": inside ${STATE_DIR}/`,
    );
  }
}

async function lstatOrUndefined(
  osPath: string,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(osPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Throws {@linkcode UnsafePathError} unless `info` is a real directory. */
export function refuseParent(
  relPath: string,
  parent: string,
  info: Deno.FileInfo,
): void {
  if (info.isSymlink) {
    throw new UnsafePathError(
      relPath,
      `Refusing path "${relPath}": parent "${parent}" is a symlink`,
    );
  }
  if (!info.isDirectory) {
    throw new UnsafePathError(
      relPath,
      `Refusing path "${relPath}": parent "${parent}" is not a directory`,
    );
  }
}

/**
 * Creates the missing parent directories of `relPath` under `folder`, one
 * component at a time, and returns the OS path of `relPath`. Throws
 * {@linkcode UnsafePathError} when the path is invalid or a parent is a
 * symlink or not a directory.
 */
export async function ensureParentDirs(
  folder: string,
  relPath: string,
): Promise<string> {
  checkRelPath(relPath);
  const parts = relPath.split("/");
  let rel = "";
  for (let i = 0; i < parts.length - 1; i++) {
    rel = rel === "" ? parts[i]! : `${rel}/${parts[i]}`;
    const os = toOsPath(folder, rel);
    let info = await lstatOrUndefined(os);
    if (info === undefined) {
      try {
        await Deno.mkdir(os);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
      info = await Deno.lstat(os); // what is there now, whoever made it
    }
    refuseParent(relPath, rel, info);
  }
  return toOsPath(folder, relPath);
}

/**
 * Checks that every parent of `relPath` is a real directory; returns the OS
 * path of `relPath`, or `undefined` when a parent is missing (so is the
 * entry). Throws {@linkcode UnsafePathError} like
 * {@linkcode ensureParentDirs}.
 */
export async function checkParentDirs(
  folder: string,
  relPath: string,
): Promise<string | undefined> {
  checkRelPath(relPath);
  const parts = relPath.split("/");
  let rel = "";
  for (let i = 0; i < parts.length - 1; i++) {
    rel = rel === "" ? parts[i]! : `${rel}/${parts[i]}`;
    const info = await lstatOrUndefined(toOsPath(folder, rel));
    if (info === undefined) return undefined;
    refuseParent(relPath, rel, info);
  }
  return toOsPath(folder, relPath);
}

function kindOf(info: Deno.FileInfo): "file" | "dir" | "symlink" | "other" {
  if (info.isSymlink) return "symlink";
  if (info.isDirectory) return "dir";
  if (info.isFile) return "file";
  return "other";
}

/**
 * Why the entry `info` (undefined: nothing there) is not what the index
 * holds (`expected`; undefined or a tombstone: nothing), or `undefined` when
 * it is. An entry the index holds that has disappeared counts as unchanged
 * (nothing is lost by writing there). Files and symlinks compare size,
 * mtime (ms), inode when both are known, and the exec bit of files.
 */
export function localChangeOf(
  info: Deno.FileInfo | undefined,
  expected: StoredStat | undefined,
): string | undefined {
  if (info === undefined) return undefined;
  const kind = kindOf(info);
  if (expected === undefined || expected.deleted) {
    return `a ${kind} the index has not seen is there`;
  }
  if (kind !== expected.kind) {
    return `it is a ${kind}, the index holds a ${expected.kind}`;
  }
  if (kind === "dir") return undefined;
  if (info.size !== expected.size) {
    return `size ${info.size}, the index holds ${expected.size}`;
  }
  const mtimeMs = info.mtime?.getTime() ?? 0;
  if (mtimeMs !== expected.mtimeMs) {
    return `mtime ${mtimeMs} ms, the index holds ${expected.mtimeMs} ms`;
  }
  if (
    info.ino !== null && expected.inode !== undefined &&
    info.ino !== expected.inode
  ) {
    return `inode ${info.ino}, the index holds ${expected.inode}`;
  }
  if (kind === "file" && !IS_WINDOWS) {
    const exec = ((info.mode ?? 0) & 0o100) !== 0;
    if (exec !== expected.exec) {
      return `exec bit ${exec}, the index holds ${expected.exec}`;
    }
  }
  return undefined;
}

/**
 * Throws {@linkcode LocalChangeError} when the entry at `osPath` is not what
 * the index holds (see {@linkcode localChangeOf}).
 */
export async function assertUnchanged(
  relPath: string,
  osPath: string,
  expected: StoredStat | undefined,
): Promise<void> {
  const problem = localChangeOf(await lstatOrUndefined(osPath), expected);
  if (problem !== undefined) {
    throw new LocalChangeError(
      relPath,
      `Local change at "${relPath}": ${problem}`,
    );
  }
}

/** Outcome of {@linkcode removePath}. */
export type RemoveOutcome = "removed" | "absent" | "not-empty";

/** Options of {@linkcode removePath}. */
export interface RemoveOptions {
  /**
   * What the index holds about the entry. When given, an entry that differs
   * (a local edit not yet scanned) is not removed: {@linkcode LocalChangeError}.
   */
  readonly expected?: StoredStat;
}

/**
 * Removes the entry at `relPath`: a file, a symlink (the link itself, never
 * its target) or an empty directory. Returns `"absent"` when nothing was
 * there, `"not-empty"` for a directory that still has entries (left as is).
 * Throws {@linkcode UnsafePathError} when a parent is a symlink or not a
 * directory, {@linkcode LocalChangeError} when `expected` is given and the
 * entry differs from it.
 */
export async function removePath(
  folder: string,
  relPath: string,
  options: RemoveOptions = {},
): Promise<RemoveOutcome> {
  const os = await checkParentDirs(folder, relPath);
  if (os === undefined) return "absent";
  const info = await lstatOrUndefined(os);
  if (info === undefined) return "absent";
  if (options.expected !== undefined) {
    const problem = localChangeOf(info, options.expected);
    if (problem !== undefined) {
      throw new LocalChangeError(
        relPath,
        `Not removing "${relPath}": ${problem}`,
      );
    }
  }
  try {
    await Deno.remove(os);
    return "removed";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "absent";
    if (info.isDirectory && isNotEmpty(err)) return "not-empty";
    throw err;
  }
}

function isNotEmpty(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // ENOTEMPTY (EEXIST on some systems); ERROR_DIR_NOT_EMPTY on Windows.
  return code === "ENOTEMPTY" || code === "EEXIST" ||
    /not empty|os error 145/i.test(String((err as Error).message));
}

/**
 * Removes the parent directories of `relPath` that are empty, from the
 * deepest up, stopping at the first one that is not empty, is not a real
 * directory, or is the folder itself. Returns the relative paths removed.
 * Use it only for directories the index also holds as deleted.
 */
export async function removeEmptyParents(
  folder: string,
  relPath: string,
): Promise<string[]> {
  checkRelPath(relPath);
  const removed: string[] = [];
  let rel = relPath;
  for (let cut = rel.lastIndexOf("/"); cut > 0; cut = rel.lastIndexOf("/")) {
    rel = rel.slice(0, cut);
    const os = await checkParentDirs(folder, rel);
    if (os === undefined) continue;
    const info = await lstatOrUndefined(os);
    if (info === undefined) continue;
    if (!info.isDirectory || info.isSymlink) break;
    try {
      await Deno.remove(os);
      removed.push(rel);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      if (isNotEmpty(err)) break;
      throw err;
    }
  }
  return removed;
}

/**
 * Creates the directory `relPath` (and its parents). Returns `false` when a
 * directory was already there. Throws {@linkcode UnsafePathError} on an
 * unsafe parent, `Deno.errors.AlreadyExists` when a non-directory is in the
 * way (remove it first).
 */
export async function makeDir(
  folder: string,
  relPath: string,
): Promise<boolean> {
  const os = await ensureParentDirs(folder, relPath);
  try {
    await Deno.mkdir(os);
    return true;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    const info = await Deno.lstat(os);
    if (info.isDirectory && !info.isSymlink) return false;
    throw err;
  }
}
