/**
 * What a `.part` file becomes once committed (the target's path, size,
 * chunks and metadata, and what the index holds there now), and the check
 * that such a target is consistent before anything is written.
 * @module
 */

import {
  blake3,
  BLAKE3_LEN,
  fileHashOfChunks,
  sameBytes,
  type StoredStat,
  toHex,
} from "../../index/mod.ts";
import { ContentMismatchError } from "./errors.ts";

/** One chunk of a {@linkcode PartTarget}. */
export interface TargetChunk {
  readonly length: number;
  /** BLAKE3 of the chunk's bytes (32 bytes). */
  readonly hash: Uint8Array;
}

/** What a `PartFile` becomes once committed. */
export interface PartTarget {
  /** The synced folder (OS path). */
  readonly folder: string;
  /** Canonical relative path of the target. */
  readonly path: string;
  /** Final size in bytes. */
  readonly size: number;
  /** The file hash (32 bytes): `fileHashOf` the chunks' hashes. */
  readonly hash: Uint8Array;
  /** The content's chunks in order: lengths summing to `size`, and BLAKE3s. */
  readonly chunks: readonly TargetChunk[];
  /** Modification time to set, ns since the epoch. */
  readonly mtimeNs: bigint;
  /** Owner-executable bit to set (ignored on Windows). */
  readonly exec: boolean;
  /**
   * What the index holds about the target now (`IndexStore.getStat`);
   * undefined or a tombstone when nothing should be there. Checked just
   * before the rename.
   */
  readonly expected: StoredStat | undefined;
  /** This replica's tag for a conflict name (see `replaceExactly`). */
  readonly conflictTag?: string;
}

/** Throws unless `t`'s size, hash and chunk list agree. */
export function checkTarget(t: PartTarget): void {
  if (!Number.isSafeInteger(t.size) || t.size < 0) {
    throw new RangeError(`Cannot write "${t.path}": size ${t.size} is invalid`);
  }
  if (t.hash.length !== BLAKE3_LEN) {
    throw new RangeError(
      `Cannot write "${t.path}": hash of ${t.hash.length} bytes, expected 32`,
    );
  }
  const covered = t.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  // fileHashOfChunks throws RangeError on a chunk hash of the wrong length.
  if (covered !== t.size || !sameBytes(fileHashOfChunks(t.chunks), t.hash)) {
    throw new ContentMismatchError(
      t.path,
      `Cannot write "${t.path}": its chunk list does not make its hash ${
        toHex(t.hash)
      } and size ${t.size}`,
    );
  }
}

/**
 * Reads `file` from its start and checks each of `target`'s chunks
 * against its BLAKE3; throws {@linkcode ContentMismatchError} at the
 * first that differs.
 */
export async function verifyPartChunks(
  file: Deno.FsFile,
  target: PartTarget,
): Promise<void> {
  const { path, chunks } = target;
  await file.seek(0, Deno.SeekMode.Start);
  let buf = new Uint8Array(0);
  let offset = 0;
  for (const chunk of chunks) {
    if (buf.length < chunk.length) buf = new Uint8Array(chunk.length);
    const data = buf.subarray(0, chunk.length);
    for (let got = 0; got < data.length;) {
      const n = await file.read(data.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (!sameBytes(blake3(data), chunk.hash)) {
      throw new ContentMismatchError(
        path,
        `Assembled "${path}" has other bytes than expected at ${offset}`,
      );
    }
    offset += chunk.length;
  }
}
