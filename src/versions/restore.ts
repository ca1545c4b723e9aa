/**
 * Putting a kept version back under its name. The file there now (if any)
 * becomes a version first, so a restore can itself be undone. The restored
 * file is an ordinary local change: the scanner records it and it syncs to
 * the peers like any edit.
 * @module
 */

import { isInStateDir, parentRel, toOsPath } from "../index/mod.ts";
import { formatStamp } from "./version_name.ts";
import {
  type KeptVersion,
  moveFile,
  type VersionStore,
} from "./version_store.ts";

/** A restore that cannot be done as asked (no such version, a folder in the way). */
export class RestoreError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "RestoreError";
    this.path = path;
  }
}

/** What a restore did. */
export interface RestoreOutcome {
  /** The version put back. */
  readonly restored: KeptVersion;
  /** The version the replaced file became, if a file was there. */
  readonly kept?: string;
}

/**
 * The canonical relative path of `path` as a user typed it (`./a//b` is
 * `a/b`); throws {@linkcode RestoreError} for a path outside the folder or
 * inside `.dsync/`.
 */
export function restorePath(path: string): string {
  const parts = path.replaceAll("\\", "/").split("/").filter((p) =>
    p !== "" && p !== "."
  );
  if (
    parts.length === 0 || parts.includes("..") || path.startsWith("/") ||
    path.includes("\0")
  ) {
    throw new RestoreError(path, `"${path}" is not a path inside the folder`);
  }
  const rel = parts.join("/");
  if (isInStateDir(rel)) {
    throw new RestoreError(
      path,
      `"${path}" is inside dsync's own .dsync folder`,
    );
  }
  return rel;
}

/**
 * The version of `path` to restore: the newest, or the newest kept at or
 * before `at` (epoch ms). Throws {@linkcode RestoreError} when there is none.
 */
export function chooseVersion(
  versions: readonly KeptVersion[],
  path: string,
  at?: number,
): KeptVersion {
  const own = versions.filter((v) => v.path === path).sort((a, b) =>
    b.at - a.at || b.serial - a.serial
  );
  if (own.length === 0) {
    throw new RestoreError(path, `No version of "${path}" is kept`);
  }
  if (at === undefined) return own[0]!;
  const chosen = own.find((v) => v.at <= at);
  if (chosen === undefined) {
    throw new RestoreError(
      path,
      `No version of "${path}" at or before ${formatStamp(at)} (oldest: ${
        formatStamp(own[own.length - 1]!.at)
      })`,
    );
  }
  return chosen;
}

/**
 * Restores the chosen version of `path` (see {@linkcode chooseVersion}).
 * The caller keeps the sync engine from writing the path meanwhile (its
 * gate, or the folder lock when no instance runs).
 */
export async function restoreVersion(
  store: VersionStore,
  path: string,
  at?: number,
): Promise<RestoreOutcome> {
  const rel = restorePath(path);
  const version = chooseVersion(await store.list(rel), rel, at);
  await ensureParents(store.folder, rel);
  const target = toOsPath(store.folder, rel);
  let kept: string | undefined;
  const current = await lstatOrUndefined(target);
  if (current?.isDirectory) {
    throw new RestoreError(rel, `A folder is where "${rel}" would go`);
  }
  if (current !== undefined) kept = await store.keep(rel, "move");
  const source = toOsPath(store.root, version.name);
  try {
    // A link fails if anything appeared at the target meanwhile.
    await Deno.link(source, target);
    await Deno.remove(source);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new RestoreError(
        rel,
        `Something new appeared at "${rel}"; try again`,
      );
    }
    await moveFile(source, target);
  }
  return kept === undefined
    ? { restored: version }
    : { restored: version, kept };
}

async function lstatOrUndefined(
  path: string,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Creates the missing parents of `rel`; refuses a link or file among them. */
async function ensureParents(folder: string, rel: string): Promise<void> {
  const parent = parentRel(rel);
  if (parent === "") return;
  let walked = "";
  for (const part of parent.split("/")) {
    walked = walked === "" ? part : `${walked}/${part}`;
    const os = toOsPath(folder, walked);
    const info = await lstatOrUndefined(os);
    if (info === undefined) {
      await Deno.mkdir(os);
    } else if (!info.isDirectory || info.isSymlink) {
      throw new RestoreError(
        rel,
        `Cannot restore "${rel}": "${walked}" is not a folder`,
      );
    }
  }
}
