/**
 * Small files digested in batches: one message to a hasher worker carries a
 * list of paths, the worker reads and hashes each synchronously and answers
 * with flat buffers. A cold index of 100,000 files of 1 KiB spent a third
 * of the main thread in one async open and read per file (each a trip
 * through Deno's blocking pool) and a promise per file; in a batch the
 * per-file cost is a few synchronous system calls on a worker thread.
 * @module
 */

import {
  digestBytesPacked,
  type FileDigest,
  unpackDigest,
} from "./file_digest.ts";
import { MIN_CHUNK } from "./chunker.ts";
import { blake3, BLAKE3_LEN, fileHashOf } from "./hash.ts";

/** What `lstat` said of a file just after it was read. */
export interface SeenStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number | null;
  readonly dev: number | null;
  readonly mode: number | null;
  readonly isFile: boolean;
}

/** The fields of `info` that tell whether a file changed. */
export function seenStatOf(info: Deno.FileInfo): SeenStat {
  return {
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
    ino: info.ino,
    dev: info.dev,
    mode: info.mode,
    isFile: info.isFile,
  };
}

/** The outcome of one file of a batch. */
export type SmallFileOutcome =
  | {
    readonly kind: "digest";
    readonly digest: FileDigest;
    /** The `lstat`s just before and just after the read. */
    readonly before: SeenStat;
    readonly after: SeenStat;
  }
  /**
   * Not a regular file under the limit when looked at (`before`, the
   * `lstat` then): look at it alone.
   */
  | { readonly kind: "not-small"; readonly before: SeenStat }
  /** The read failed; `error` is rebuilt as its `Deno.errors` class. */
  | { readonly kind: "error"; readonly error: Error };

/** Files digested in one batch, as they cross from a worker (transferable). */
export interface PackedBatch {
  /** Per file: 0 digest, 1 not small, 2 error. */
  status: Uint8Array<ArrayBuffer>;
  /**
   * Per file, two `lstat`s, before and after the read (for a file that is
   * not small, only the first), of 6 numbers each: size, mtime ms, inode,
   * dev, mode (NaN for null), 1 if a regular file else 0.
   */
  stats: Float64Array<ArrayBuffer>;
  /** Per file: its number of chunks. */
  chunkCounts: Uint32Array<ArrayBuffer>;
  /** Per file: its file hash. */
  fileHashes: Uint8Array<ArrayBuffer>;
  /** Every chunk of every file, in order. */
  lengths: Uint32Array<ArrayBuffer>;
  hashes: Uint8Array<ArrayBuffer>;
  /** The failures, by index in the batch. */
  errors: { index: number; name: string; message: string }[];
}

const EMPTY = new Uint8Array(0);
const DIGEST = 0;
const NOT_SMALL = 1;
const ERROR = 2;
const STAT_FIELDS = 12;

function orNaN(n: number | null): number {
  return n ?? NaN;
}

function orNull(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}

function putStat(stats: Float64Array, at: number, info: Deno.FileInfo): void {
  stats[at] = info.size;
  stats[at + 1] = info.mtime?.getTime() ?? 0;
  stats[at + 2] = orNaN(info.ino);
  stats[at + 3] = orNaN(info.dev);
  stats[at + 4] = orNaN(info.mode);
  stats[at + 5] = info.isFile ? 1 : 0;
}

function getStat(stats: Float64Array, at: number): SeenStat {
  return {
    size: stats[at]!,
    mtimeMs: stats[at + 1]!,
    ino: orNull(stats[at + 2]!),
    dev: orNull(stats[at + 3]!),
    mode: orNull(stats[at + 4]!),
    isFile: stats[at + 5] === 1,
  };
}

/** Paths travel to a worker as one string (one clone, not one per path). */
const SEPARATOR = "\0";

/** `paths` as one string for {@linkcode splitPaths}; no path holds NUL. */
export function joinPaths(paths: readonly string[]): string {
  return paths.join(SEPARATOR);
}

/** The paths of {@linkcode joinPaths}. */
export function splitPaths(joined: string): string[] {
  return joined.split(SEPARATOR);
}

/**
 * Reads and digests each file of `paths` whose size is below `limit`,
 * synchronously, on the calling thread (a worker's). A path is `lstat`ed
 * before it is opened, so that a FIFO or device put in place of a listed
 * file is not opened (opening a FIFO blocks); it is `lstat`ed again after
 * the read, so that the caller sees a change made meanwhile.
 */
export function digestSmallFiles(
  paths: readonly string[],
  limit: number,
): PackedBatch {
  const n = paths.length;
  const status = new Uint8Array(n);
  const stats = new Float64Array(n * STAT_FIELDS);
  const chunkCounts = new Uint32Array(n);
  const fileHashes = new Uint8Array(n * BLAKE3_LEN);
  const lengths: number[] = [];
  const hashParts: Uint8Array[] = [];
  const errors: PackedBatch["errors"] = [];
  // One read buffer for the batch: a file that fills it grew past `limit`.
  const buf = new Uint8Array(limit + 1);
  for (let i = 0; i < n; i++) {
    const path = paths[i]!;
    const at = i * STAT_FIELDS;
    try {
      const before = Deno.lstatSync(path);
      putStat(stats, at, before);
      if (!before.isFile || before.size >= limit) {
        status[i] = NOT_SMALL;
        continue;
      }
      let len = 0;
      {
        using file = Deno.openSync(path, { read: true });
        while (len < buf.length) {
          const got = file.readSync(buf.subarray(len));
          if (got === null) break;
          len += got;
          // The size `lstat` gave is all of a regular file that did not
          // change (the `lstat` after the read tells if it did), without
          // one more read to see its end.
          if (len === before.size) break;
        }
      }
      if (len >= limit) {
        status[i] = NOT_SMALL;
        continue;
      }
      const after = Deno.lstatSync(path);
      putStat(stats, at + STAT_FIELDS / 2, after);
      const data = buf.subarray(0, len);
      if (len <= MIN_CHUNK) {
        // Shorter than the smallest chunk: one chunk (none when empty),
        // hashed without a streaming digest's buffers.
        const hashes = len === 0 ? EMPTY : blake3(data);
        chunkCounts[i] = len === 0 ? 0 : 1;
        fileHashes.set(fileHashOf(hashes), i * BLAKE3_LEN);
        if (len > 0) {
          lengths.push(len);
          hashParts.push(hashes);
        }
      } else {
        const d = digestBytesPacked(data);
        chunkCounts[i] = d.lengths.length;
        fileHashes.set(d.hash, i * BLAKE3_LEN);
        for (const length of d.lengths) lengths.push(length);
        hashParts.push(d.hashes);
      }
    } catch (err) {
      status[i] = ERROR;
      const e = err instanceof Error ? err : new Error(String(err));
      errors.push({ index: i, name: e.name, message: e.message });
    }
  }
  const hashes = new Uint8Array(lengths.length * BLAKE3_LEN);
  let off = 0;
  for (const part of hashParts) {
    hashes.set(part, off);
    off += part.length;
  }
  return {
    status,
    stats,
    chunkCounts,
    fileHashes,
    lengths: Uint32Array.from(lengths),
    hashes,
    errors,
  };
}

/** The buffers of `batch` to transfer rather than copy. */
export function transferablesOf(batch: PackedBatch): ArrayBuffer[] {
  return [
    batch.status.buffer,
    batch.stats.buffer,
    batch.chunkCounts.buffer,
    batch.fileHashes.buffer,
    batch.lengths.buffer,
    batch.hashes.buffer,
  ];
}

/**
 * The outcome of each of `count` files from a worker's packed batch,
 * checked for consistency (a malformed batch throws `TypeError`).
 * `rebuild` turns a failure's name and message into an error.
 */
export function unpackBatch(
  batch: PackedBatch,
  count: number,
  rebuild: (name: string, message: string) => Error,
): SmallFileOutcome[] {
  if (
    batch.status.length !== count ||
    batch.stats.length !== count * STAT_FIELDS ||
    batch.chunkCounts.length !== count ||
    batch.fileHashes.length !== count * BLAKE3_LEN ||
    batch.hashes.length !== batch.lengths.length * BLAKE3_LEN
  ) {
    throw new TypeError(`Malformed batch of ${count} digests`);
  }
  const errors = new Map<number, Error>();
  for (const e of batch.errors) errors.set(e.index, rebuild(e.name, e.message));
  const out: SmallFileOutcome[] = new Array(count);
  let chunk = 0;
  for (let i = 0; i < count; i++) {
    const s = batch.status[i];
    const at = i * STAT_FIELDS;
    if (s === NOT_SMALL) {
      out[i] = { kind: "not-small", before: getStat(batch.stats, at) };
      continue;
    }
    if (s === ERROR) {
      const error = errors.get(i);
      if (error === undefined) {
        throw new TypeError(`Malformed batch: no error for file ${i}`);
      }
      out[i] = { kind: "error", error };
      continue;
    }
    if (s !== DIGEST) throw new TypeError(`Malformed batch: status ${s}`);
    const chunks = batch.chunkCounts[i]!;
    if (chunk + chunks > batch.lengths.length) {
      throw new TypeError(`Malformed batch: too few chunks for file ${i}`);
    }
    const lengths = batch.lengths.subarray(chunk, chunk + chunks);
    let size = 0;
    for (const length of lengths) size += length;
    const digest = unpackDigest({
      size,
      hash: batch.fileHashes.subarray(i * BLAKE3_LEN, (i + 1) * BLAKE3_LEN),
      lengths,
      hashes: batch.hashes.subarray(
        chunk * BLAKE3_LEN,
        (chunk + chunks) * BLAKE3_LEN,
      ),
    });
    chunk += chunks;
    out[i] = {
      kind: "digest",
      digest,
      before: getStat(batch.stats, at),
      after: getStat(batch.stats, at + STAT_FIELDS / 2),
    };
  }
  if (chunk !== batch.lengths.length) {
    throw new TypeError(`Malformed batch: ${batch.lengths.length} chunks`);
  }
  return out;
}
