/**
 * The index's record of one path in the folder: what is synced (content,
 * metadata, version) plus local-only fields used to notice changes on disk.
 */

import type { ChunkInfo } from "./file_digest.ts";
import type { VersionVector } from "./version_vector.ts";
import { sameBytes } from "./hash.ts";

/** What a path is. Symlinks are recorded as links and never followed. */
export type FileKind = "file" | "dir" | "symlink";

/** One path of the folder as the index knows it. */
export interface FileRecord {
  /** Relative path: `/`-separated, NFC (see `rel_path.ts`). */
  readonly path: string;
  readonly kind: FileKind;
  /** Bytes of content (files), bytes of the target (symlinks), 0 for dirs and tombstones. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** Owner-executable bit (files only). */
  readonly exec: boolean;
  /** BLAKE3 of the content (files), of the UTF-8 target (symlinks); empty for dirs and tombstones. */
  readonly hash: Uint8Array;
  /** Content-defined chunks of a file; empty otherwise. */
  readonly chunks: readonly ChunkInfo[];
  readonly version: VersionVector;
  /** True for a tombstone: the path was deleted. */
  readonly deleted: boolean;
  /** Local sequence number of the last change (assigned by the store). */
  readonly sequence: number;
  /** Link target, for symlinks. */
  readonly symlinkTarget?: string;
  /** Local only: inode when last seen on disk, for change detection. */
  readonly inode?: number;
  /** Local only: device when last seen on disk, for change detection. */
  readonly dev?: number;
}

/** The kinds, in the order of their numeric codes on disk. */
export const FILE_KINDS: readonly FileKind[] = Object.freeze([
  "file",
  "dir",
  "symlink",
]);

/**
 * True when two records describe the same synced content: kind, size, exec
 * bit, hash, symlink target and deleted flag. Mtime, version and local
 * fields are not compared.
 */
export function sameContent(a: FileRecord, b: FileRecord): boolean {
  return a.kind === b.kind && a.deleted === b.deleted && a.size === b.size &&
    a.exec === b.exec && (a.symlinkTarget ?? "") === (b.symlinkTarget ?? "") &&
    sameBytes(a.hash, b.hash);
}
