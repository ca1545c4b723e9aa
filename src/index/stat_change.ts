/**
 * Change detection from metadata alone: decides, from what the index stored
 * and what `lstat` reports now, whether an entry must be read again.
 */

import type { FileKind } from "./file_record.ts";
import type { StoredStat } from "./store.ts";

/** What `lstat` reported for an entry. */
export interface ObservedStat {
  readonly kind: FileKind;
  readonly size: number;
  /** Modification time in whole milliseconds (the precision Deno reports). */
  readonly mtimeMs: number;
  readonly exec: boolean;
  readonly inode?: number;
}

/**
 * - `unchanged`: nothing to do.
 * - `changed`: new, kind changed, or content may differ — read it again
 *   (hash a file, read a link, record a dir).
 * - `exec`: only the exec bit changed; the stored content still holds.
 */
export type StatVerdict = "unchanged" | "changed" | "exec";

/**
 * Decides what a scan must do with an entry. Directory mtimes are not
 * tracked (they change with every entry added). `racy` marks an entry whose
 * last hash may have raced with a write in the same timestamp tick.
 */
export function decideStatChange(
  stored: StoredStat | undefined,
  observed: ObservedStat,
  racy = false,
): StatVerdict {
  if (stored === undefined || stored.deleted || stored.kind !== observed.kind) {
    return "changed";
  }
  if (observed.kind === "dir") return "unchanged";
  const inodeMoved = stored.inode !== undefined &&
    observed.inode !== undefined &&
    stored.inode !== observed.inode;
  if (
    racy || inodeMoved || stored.size !== observed.size ||
    stored.mtimeMs !== observed.mtimeMs
  ) {
    return "changed";
  }
  if (observed.kind === "file" && stored.exec !== observed.exec) return "exec";
  return "unchanged";
}
