/**
 * A new version of a big file built from the old one: the current file is
 * copied into the `.part` by the kernel (`Deno.copyFile`: copy_file_range,
 * a reflink where the file system has them), and only the chunks that
 * changed are fetched and written over it. Worth it where the offsets did
 * not shift (an overwrite in place, an append); where they did (an insert
 * near the start), chunks are found by hash as before.
 *
 * A chunk counts as in place when the old record has a chunk of the same
 * length and hash at the same offset. The copy is trusted to hold the old
 * record's bytes only while the file's `lstat` shows what the index holds
 * (size, mtime, inode) both before and after copying; otherwise no copy.
 * The copy is flushed to disk while it is made ({@linkcode copyFlushing}),
 * and what is left while the changed chunks are fetched (the `.part`'s
 * early write-back starts at once), not all at the commit's fsync: 1 MiB
 * changed in 256 MiB, fetch plus commit 0.52-0.66 s against 0.53-0.97 s
 * with the fsync at the end (4 runs each, ABAB, load 10-16: the fetch's
 * writes then wait for the flush, the commit's fsync finds nothing left).
 * @module
 */

import type { StoredStat } from "../../index/mod.ts";
import { sameBytes } from "../../index/mod.ts";
import type { TargetChunk } from "./part_target.ts";

/** A copy pays when at least this share of the new file is in place. */
export const COPY_MIN_SHARE = 0.5;

/** The new chunks found in place in the old content: offset → length. */
export interface InPlace {
  readonly chunks: ReadonlyMap<number, number>;
  /** Bytes of the new file they cover. */
  readonly bytes: number;
}

/**
 * The chunks of `next` that sit at the same offset, with the same length
 * and hash, in `previous` (both in file order).
 */
export function chunksInPlace(
  next: readonly TargetChunk[],
  previous: readonly TargetChunk[],
): InPlace {
  const chunks = new Map<number, number>();
  let bytes = 0;
  let i = 0;
  let j = 0;
  let at = 0; // offset of next[i]
  let oldAt = 0; // offset of previous[j]
  while (i < next.length && j < previous.length) {
    const a = next[i]!;
    const b = previous[j]!;
    if (oldAt < at) {
      oldAt += b.length;
      j++;
    } else if (at < oldAt) {
      at += a.length;
      i++;
    } else {
      if (a.length === b.length && sameBytes(a.hash, b.hash)) {
        chunks.set(at, a.length);
        bytes += a.length;
      }
      at += a.length;
      oldAt += b.length;
      i++;
      j++;
    }
  }
  return { chunks, bytes };
}

function sameFile(info: Deno.FileInfo, expected: StoredStat): boolean {
  return info.isFile && info.size === expected.size &&
    (info.mtime?.getTime() ?? 0) === expected.mtimeMs &&
    (expected.inode === undefined || info.ino === null ||
      info.ino === expected.inode);
}

/**
 * Copies the file at `fromOs` to `toOs` (created) when its `lstat` shows
 * `expected` before and after; true when it did. Leaves nothing at `toOs`
 * otherwise.
 */
export async function copyUnchanged(
  fromOs: string,
  toOs: string,
  expected: StoredStat,
): Promise<boolean> {
  let before: Deno.FileInfo;
  try {
    before = await Deno.lstat(fromOs);
  } catch {
    return false;
  }
  if (!sameFile(before, expected)) return false;
  try {
    await copyFlushing(fromOs, toOs);
    const after = await Deno.lstat(fromOs);
    if (sameFile(after, expected) && after.ino === before.ino) return true;
  } catch {
    // Counted as not copied.
  }
  await Deno.remove(toOs).catch(() => {});
  return false;
}

/**
 * While the kernel copies, the pages copied so far are flushed every this
 * many milliseconds: the disk writes the copy as it is made.
 */
const COPY_FLUSH_MS = 20;

/**
 * `Deno.copyFile(fromOs, toOs)` into a new file, flushed to disk while it
 * is made: 256 MiB copied and fsynced here in 0.53-0.56 s against
 * 0.58-0.67 s with one fsync after the copy (3 runs each, ABAB); the
 * disk's write rate (~0.5 GB/s) is then the floor. Throws the copy's or a
 * flush's error (a flush that failed may have lost copied pages, and the
 * `.part`'s own handle, opened later, would not hear of it). On Linux
 * only.
 */
async function copyFlushing(fromOs: string, toOs: string): Promise<void> {
  // Elsewhere the copy may be a clone (APFS), which wants no file there.
  if (Deno.build.os !== "linux") return await Deno.copyFile(fromOs, toOs);
  const file = await Deno.open(toOs, { write: true, createNew: true });
  try {
    let copying = true;
    const copy = Deno.copyFile(fromOs, toOs).finally(() => {
      copying = false;
    });
    const flushing = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, COPY_FLUSH_MS));
        if (!copying) return;
        await file.syncData();
      }
    })();
    const [copied, flushed] = await Promise.allSettled([copy, flushing]);
    if (copied.status === "rejected") throw copied.reason;
    if (flushed.status === "rejected") throw flushed.reason;
  } finally {
    file.close();
  }
}
