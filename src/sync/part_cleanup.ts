/**
 * Start-up cleanup of `.part` files a previous run left behind (crash, kill,
 * power loss). Only names dsync itself creates are touched
 * (`.<name>.dsync-<16 hex>.part`, {@linkcode PART_FILE_PATTERN}); a user's
 * own `*.part` files stay. Leftovers are removed, not resumed: a resumed
 * part would need its expected hash and the offsets already written, which
 * are not persisted, and the chunk reuse of the next pull makes refetching
 * cheap when the old content is still on disk. Run it before the puller
 * starts (no part is in flight then). Symlinks are never followed; `.dsync/`
 * is skipped.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { joinRel, OS_SEP } from "../index/rel_path.ts";
import { PART_FILE_PATTERN } from "./atomic_writer.ts";

const log = getLogger(["dsync", "sync", "part_cleanup"]);

function osJoin(dir: string, name: string): string {
  return dir.endsWith(OS_SEP) ? dir + name : dir + OS_SEP + name;
}

/** Options of {@linkcode removeLeftoverParts}. */
export interface PartCleanupOptions {
  /**
   * Directories (canonical relative path) not to descend into, e.g. ignored
   * ones, where dsync never writes. `.dsync/` is always skipped.
   */
  readonly skipDir?: (relPath: string) => boolean;
}

/**
 * Removes dsync's leftover `.part` files (regular files or symlinks) anywhere
 * under `folder`; returns their relative paths. Unreadable directories and
 * files that cannot be removed are logged and skipped.
 */
export async function removeLeftoverParts(
  folder: string,
  options: PartCleanupOptions = {},
): Promise<string[]> {
  const removed: string[] = [];
  // OS paths are kept apart from canonical ones: names on disk need not be NFC.
  const pending: { dir: string; os: string }[] = [{ dir: "", os: folder }];
  while (pending.length > 0) {
    const { dir, os } = pending.pop()!;
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const entry of Deno.readDir(os)) {
        entries.push(entry);
      }
    } catch (err) {
      log.warn("Cannot read {dir} while cleaning up .part files: {error}", {
        dir: dir === "" ? "." : dir,
        error: String(err),
      });
      continue;
    }
    for (const entry of entries) {
      const rel = joinRel(dir, entry.name);
      if (entry.isDirectory) {
        if (rel === ".dsync" || options.skipDir?.(rel)) continue;
        pending.push({ dir: rel, os: osJoin(os, entry.name) });
      } else if (
        (entry.isFile || entry.isSymlink) && PART_FILE_PATTERN.test(entry.name)
      ) {
        try {
          await Deno.remove(osJoin(os, entry.name));
          removed.push(rel);
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue;
          log.warn("Cannot remove leftover {path}: {error}", {
            path: rel,
            error: String(err),
          });
        }
      }
    }
  }
  if (removed.length > 0) {
    log.info("Removed {count} leftover .part files", { count: removed.length });
  }
  return removed;
}
