/**
 * Watching a folder around the subfolders that cannot be read. A recursive
 * `Deno.watchFs` fails as a whole when one subfolder denies access
 * (measured: `PermissionDenied … about ["…/closed"]`), which used to turn
 * the whole folder into a rescan every 10 s. Instead, each folder on the
 * way from the root to an unreadable one is watched on its own (not
 * recursively), and every other subfolder of those recursively: everything
 * but the unreadable folders stays watched live.
 * @module
 */

import { parentRel } from "../index/mod.ts";

/** What to watch, as relative paths (`""` is the folder itself). */
export interface WatchPlan {
  /** Watched with everything below them. */
  readonly recursive: readonly string[];
  /** Watched for their own entries only (they hold an unreadable folder). */
  readonly flat: readonly string[];
  /** The folders left out. */
  readonly unreadable: readonly string[];
}

/**
 * The plan around `unreadable` folders (pure): `childDirs(rel)` lists the
 * subfolders of `rel` as relative paths.
 */
export function planAround(
  unreadable: readonly string[],
  childDirs: (rel: string) => readonly string[],
): WatchPlan {
  const skipped = new Set(unreadable);
  const flat = new Set<string>();
  for (const dir of unreadable) {
    let at = dir;
    while (at !== "") {
      at = parentRel(at);
      flat.add(at);
    }
  }
  const recursive: string[] = [];
  for (const dir of flat) {
    for (const child of childDirs(dir)) {
      if (!flat.has(child) && !skipped.has(child)) recursive.push(child);
    }
  }
  return {
    recursive: recursive.sort(),
    flat: [...flat].sort(),
    unreadable: [...skipped].sort(),
  };
}

/** Most directories looked at when searching for unreadable ones. */
const MAX_DIRS = 200_000;

/**
 * The subfolders of `folder` (an OS path, `sep`-separated) that cannot be
 * listed, found by walking it (bounded); `isInternal` skips dsync's own.
 */
export function findUnreadableDirs(
  folder: string,
  sep: string,
  isInternal: (rel: string) => boolean,
): string[] {
  const found: string[] = [];
  const stack = [""];
  for (let seen = 0; stack.length > 0 && seen < MAX_DIRS; seen++) {
    const rel = stack.pop()!;
    const os = rel === "" ? folder : folder + sep + rel.split("/").join(sep);
    try {
      for (const entry of Deno.readDirSync(os)) {
        if (!entry.isDirectory) continue;
        const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
        if (!isInternal(child)) stack.push(child);
      }
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied && rel !== "") {
        found.push(rel);
      }
    }
  }
  return found.sort();
}

/** The subfolders of `rel` under `folder`, as relative paths. */
export function listChildDirs(
  folder: string,
  sep: string,
  rel: string,
): string[] {
  const os = rel === "" ? folder : folder + sep + rel.split("/").join(sep);
  try {
    return [...Deno.readDirSync(os)]
      .filter((e) => e.isDirectory)
      .map((e) => rel === "" ? e.name : `${rel}/${e.name}`);
  } catch {
    return [];
  }
}
