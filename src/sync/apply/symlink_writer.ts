/**
 * Placing a symlink the way the atomic writer places a file: made under a
 * `.part` name beside the entry, checked against the index, then renamed
 * over it.
 * @module
 */

import {
  baseName,
  parentRel,
  type StoredStat,
  toOsPath,
} from "../../index/mod.ts";
import { parentOsPath, syncDirLogged } from "./dir_sync.ts";
import { partName } from "./part_name.ts";
import { assertUnchanged, ensureParentDirs } from "./safe_paths.ts";

/**
 * Places a symlink `relPath` → `linkTarget` the same way: created under a
 * `.part` name beside it, then renamed over the entry after checking it
 * against `expected` ({@linkcode LocalChangeError} when it differs). The link
 * is never followed. A directory in the way must be removed first. Returns
 * the link's `lstat`.
 */
export async function writeSymlink(
  folder: string,
  relPath: string,
  linkTarget: string,
  expected: StoredStat | undefined,
): Promise<Deno.FileInfo> {
  if (linkTarget === "" || linkTarget.includes("\0")) {
    throw new RangeError(`Cannot link "${relPath}" to "${linkTarget}"`);
  }
  const os = await ensureParentDirs(folder, relPath);
  const dirRel = parentRel(relPath);
  const partPath = toOsPath(
    folder,
    (dirRel === "" ? "" : `${dirRel}/`) + partName(baseName(relPath)),
  );
  await Deno.symlink(linkTarget, partPath);
  try {
    await assertUnchanged(relPath, os, expected);
    await Deno.rename(partPath, os);
  } catch (err) {
    await Deno.remove(partPath).catch(() => {});
    throw err;
  }
  await syncDirLogged(parentOsPath(folder, relPath));
  return await Deno.lstat(os);
}
