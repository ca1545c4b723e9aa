/**
 * Which paths under the folder dsync writes itself and never syncs, in a
 * module of its own (its one import is a leaf) so the watcher thread can
 * drop their events before they cross to the main thread.
 * @module
 */

// The leaf file, not index/mod.ts: the worker must not load SQLite and BLAKE3.
import { STATE_DIR } from "../index/state_dir.ts";

/** Suffix of the temporary files dsync writes before renaming them. */
const PART_SUFFIX = ".part";

/**
 * True for paths dsync writes itself and never syncs: anything in a
 * `.dsync` directory and anything named `*.part` (or below such a
 * directory), as the always-ignored rules say.
 */
export function isInternalPath(relPath: string): boolean {
  for (const segment of relPath.split("/")) {
    if (segment === STATE_DIR || segment.endsWith(PART_SUFFIX)) return true;
  }
  return false;
}

/**
 * True when the absolute `absPath` lies strictly below one of `roots` and
 * its part below that root is internal ({@linkcode isInternalPath}). False
 * whenever unsure (another case of the root, a path outside every root):
 * such events go on to `FolderWatcher`, which decides exactly.
 */
export function isInternalEventPath(
  absPath: string,
  roots: readonly string[],
  sep: string,
): boolean {
  for (const root of roots) {
    const base = root.endsWith(sep) ? root : root + sep;
    if (absPath.length > base.length && absPath.startsWith(base)) {
      const rel = absPath.slice(base.length);
      return isInternalPath(sep === "/" ? rel : rel.replaceAll(sep, "/"));
    }
  }
  return false;
}
