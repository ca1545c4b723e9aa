/**
 * What a scan pass is given (`PassContext`, with the hashing side as a
 * `FileHasher`) and what it reports (`ScanSummary`), plus the stat helpers
 * both halves of a pass use: the walk (`scan_pass.ts`) and the hashing
 * (`hash_queue.ts`). Internal to `scanner.ts`.
 * @module
 */

import type { ChunkInfo, FileDigest } from "./file_digest.ts";
import type { SmallFileOutcome } from "./small_file_batch.ts";
import type { IgnoreRules } from "./ignore_rules.ts";
import type { IndexStore } from "./store.ts";

/** Hashes file content; the scanner's only dependency on the hashing side. */
export interface FileHasher {
  /** `previous`: the chunks the index holds for the file, a hint only. */
  hashFile(
    absPath: string,
    previous?: readonly ChunkInfo[],
  ): Promise<FileDigest>;
  /**
   * Files found smaller than this go to {@linkcode hashSmallFiles} in
   * batches, when the hasher has it (both or neither).
   */
  readonly smallFileLimit?: number;
  /** Digests many small files in one job (see `HasherPool.hashSmallFiles`). */
  hashSmallFiles?(absPaths: readonly string[]): Promise<SmallFileOutcome[]>;
}

/** What a scan saw and did. Counts cover the scanned part of the folder. */
export interface ScanSummary {
  /** Regular files, directories and symlinks present on disk (not ignored). */
  files: number;
  dirs: number;
  symlinks: number;
  /** Total size of the files present. */
  bytes: number;
  /** Files whose content was hashed in this scan, and their bytes. */
  hashedFiles: number;
  hashedBytes: number;
  /** Tombstones written (paths found missing). */
  deleted: number;
  /** Entries that could not be read; they are left as they were in the index. */
  errors: number;
  durationMs: number;
}

/** Settings shared by every pass of one scanner. */
export interface PassContext {
  readonly store: IndexStore;
  readonly hasher: FileHasher;
  readonly ignore: IgnoreRules;
  readonly now: () => number;
  readonly concurrency: number;
  readonly racyWindowMs: number;
  /** Paths whose last hash may have raced with a write: rehash them next time. */
  readonly racy: Set<string>;
  /**
   * Paths that could not be read, already warned about: later passes say
   * so at debug level only (a rescan every 10 s must not repeat it), until
   * the path is read again.
   */
  readonly unreadable: Set<string>;
  /**
   * Names that are not valid UTF-8 (as listed, with U+FFFD in place of the
   * bad bytes): they cannot be opened by that name, so they are reported,
   * not synced. Kept until their directory is listed without them.
   */
  readonly invalidNames: Set<string>;
  /**
   * Throws when the folder is gone or replaced; asked before each write to
   * the index, so a pass over a vanished folder commits nothing more.
   */
  readonly checkFolder: () => void;
  /** Told after each write of a pass's records, mid-pass included. */
  readonly onCommit?: () => void;
  /** Told of each dsync `.part` file listed (OS path); see `ScannerOptions`. */
  readonly onPartFile?: (os: string) => void;
  /** A pass writes what it found at least this often, in ms. */
  readonly commitEveryMs: number;
}

/** A summary of a scan that found nothing. */
export function emptyScanSummary(): ScanSummary {
  return {
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    hashedFiles: 0,
    hashedBytes: 0,
    deleted: 0,
    errors: 0,
    durationMs: 0,
  };
}

/** The record fields of a local stat: inode and device, when known. */
export function localFields(
  info: { ino: number | null; dev: number | null },
): { inode?: number; dev?: number } {
  return {
    ...(info.ino === null ? {} : { inode: info.ino }),
    ...(info.dev === null ? {} : { dev: info.dev }),
  };
}

/** Whether anything is at `os` (a broken symlink counts). */
export function pathExists(os: string): boolean {
  try {
    Deno.lstatSync(os);
    return true;
  } catch {
    return false;
  }
}
