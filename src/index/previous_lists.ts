/**
 * The chunk lists of big files' versions just replaced in the local index,
 * kept in memory: a peer that acked the old version holds it, so the new
 * record can go to it as a diff of that list (see `record_diff.ts`). A
 * peer that pulled a file from us does not announce it back (it would
 * only echo our record), so our own old list is the base we know it has.
 *
 * Bounded: at most {@linkcode PREVIOUS_LISTS_KEPT} paths and
 * {@linkcode PREVIOUS_CHUNKS_KEPT} chunks (~36 bytes each), oldest out
 * first. Lost on restart: the next change then goes as a full record.
 * @module
 */

import type { ChunkInfo } from "./file_digest.ts";
import type { FileRecord } from "./file_record.ts";
import { sameBytes } from "./hash.ts";

/** Lists shorter than this are not kept (a diff of them does not pay). */
export const PREVIOUS_MIN_CHUNKS = 64;
/** Most paths kept. */
export const PREVIOUS_LISTS_KEPT = 64;
/** Most chunks kept over all paths (~36 MB). */
export const PREVIOUS_CHUNKS_KEPT = 1 << 20;

/** A replaced version of a big file. */
export interface PreviousList {
  /** Its file hash. */
  readonly hash: Uint8Array;
  readonly chunks: readonly ChunkInfo[];
  /** The local sequence it was stored under. */
  readonly sequence: number;
}

/** See the module comment. */
export class PreviousLists {
  readonly #byPath = new Map<string, PreviousList>();
  #chunks = 0;

  /** True when replacing a record of `next`'s shape may keep the old one. */
  static worthReading(next: FileRecord): boolean {
    return next.kind === "file" && !next.deleted &&
      next.chunks.length >= PREVIOUS_MIN_CHUNKS;
  }

  /** `old` (the stored record of a path) is being replaced by `next`. */
  replaced(old: FileRecord, next: FileRecord): void {
    if (
      old.kind !== "file" || old.deleted ||
      old.chunks.length < PREVIOUS_MIN_CHUNKS ||
      old.chunks.length > PREVIOUS_CHUNKS_KEPT || sameBytes(old.hash, next.hash)
    ) return;
    this.#drop(old.path);
    this.#byPath.set(old.path, {
      hash: old.hash,
      chunks: old.chunks,
      sequence: old.sequence,
    });
    this.#chunks += old.chunks.length;
    for (const [path] of this.#byPath) {
      if (
        this.#byPath.size <= PREVIOUS_LISTS_KEPT &&
        this.#chunks <= PREVIOUS_CHUNKS_KEPT
      ) break;
      this.#drop(path);
    }
  }

  /** The last replaced version of `path`, if kept. */
  get(path: string): PreviousList | undefined {
    return this.#byPath.get(path);
  }

  #drop(path: string): void {
    const kept = this.#byPath.get(path);
    if (kept === undefined) return;
    this.#chunks -= kept.chunks.length;
    this.#byPath.delete(path);
  }
}
