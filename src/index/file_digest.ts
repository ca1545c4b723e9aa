/**
 * Content digest of a file: FastCDC chunks with a BLAKE3 hash each, and the
 * file hash over those (`fileHashOf`), computed in one streaming pass.
 *
 * A file is read in 2 MiB blocks into plain reusable buffers (see
 * `DigestBuffers`), each block just after the unfinished chunk carried over
 * from the previous one, so every chunk is one contiguous range, hashed
 * one-shot (`blake3Into`, no allocation); a buffer already in memory is
 * chunked and hashed where it lies.
 * @module
 */

import { Chunker, MAX_CHUNK } from "./chunker.ts";
import { BLAKE3_LEN, blake3Into, fileHashOf, sameBytes } from "./hash.ts";
import { cutsAt, KnownCuts, type PreviousChunks } from "./known_cuts.ts";

/** One content-defined chunk of a file. */
export interface ChunkInfo {
  /** Byte offset in the file. */
  offset: number;
  length: number;
  /** BLAKE3 of the chunk's bytes (32 bytes). */
  hash: Uint8Array;
}

/** What the index knows about a file's content. */
export interface FileDigest {
  size: number;
  /** `fileHashOf` the chunk hashes (32 bytes); also defined for an empty file. */
  hash: Uint8Array;
  /** Chunks in file order; empty for an empty file. */
  chunks: ChunkInfo[];
}

/**
 * A digest in flat buffers, as it crosses from a worker (transferable, no
 * per-chunk objects): chunk `i` has length `lengths[i]` and hash
 * `hashes[32i, 32i+32)`.
 */
export interface PackedDigest {
  size: number;
  hash: Uint8Array<ArrayBuffer>;
  lengths: Uint32Array<ArrayBuffer>;
  hashes: Uint8Array<ArrayBuffer>;
}

/** Bytes read from a file per step. */
const BLOCK = 2 << 20;
/** Data is chunked in slices this long, then its chunks hashed while still in cache. */
const SLICE = 256 << 10;
/**
 * Work buffer: a reserve for the unfinished chunk carried over from the
 * previous block (always < MAX_CHUNK) followed by room for one block, so the
 * carry and the new data are contiguous without moving the new data.
 */
const BUFFER = MAX_CHUNK + BLOCK;
/** Read buffers kept for reuse (one per concurrent `digestFilePacked`). */
const KEPT_BUFFERS = 4;
const freeBuffers: DigestBuffers[] = [];

/**
 * Buffers of one file digest. Deno reads a file into an ArrayBuffer made
 * with a `maxByteLength` at about a third of the CPU cost of reading into a
 * plain one (256 MiB from the page cache: 25-30 vs 100-110 ms), but V8's
 * code over views of such a buffer is slower (the chunker's scan ~2x), so
 * blocks are read into `staging` and copied into the plain `work`:
 * read plus copy 55-85 ms per 256 MiB against 105-125 ms.
 */
interface DigestBuffers {
  staging: Uint8Array<ArrayBuffer>;
  /** A reserve for the carried-over chunk, then one block. */
  work: Uint8Array<ArrayBuffer>;
}

function digestBuffers(): DigestBuffers {
  return {
    staging: new Uint8Array(
      new ArrayBuffer(BLOCK, { maxByteLength: BLOCK }),
    ),
    work: new Uint8Array(BUFFER),
  };
}

/** Chunk lengths and hashes as they are found, in growing flat arrays. */
class ChunkList {
  count = 0;
  #lengths = new Uint32Array(64);
  #hashes = new Uint8Array(64 * BLAKE3_LEN);

  /** Hashes `chunk` and appends it. */
  add(chunk: Uint8Array): void {
    if (this.count === this.#lengths.length) {
      const lengths = new Uint32Array(this.count * 2);
      lengths.set(this.#lengths);
      this.#lengths = lengths;
      const hashes = new Uint8Array(this.count * 2 * BLAKE3_LEN);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    const at = this.count * BLAKE3_LEN;
    blake3Into(chunk, this.#hashes.subarray(at, at + BLAKE3_LEN));
    this.#lengths[this.count++] = chunk.length;
  }

  /** Appends `chunk` if it hashes to `hash` (returns whether it did). */
  addIfHashes(chunk: Uint8Array, hash: Uint8Array): boolean {
    this.add(chunk);
    const at = (this.count - 1) * BLAKE3_LEN;
    if (sameBytes(this.#hashes.subarray(at, at + BLAKE3_LEN), hash)) {
      return true;
    }
    this.count--;
    return false;
  }

  /** The packed digest of a content of `size` bytes cut into these chunks. */
  pack(size: number): PackedDigest {
    const { lengths, hashes } = this.packed();
    return {
      size,
      hash: fileHashOf(hashes) as Uint8Array<ArrayBuffer>,
      lengths,
      hashes,
    };
  }

  /** The lengths and hashes so far, in arrays of their own. */
  packed(): {
    lengths: Uint32Array<ArrayBuffer>;
    hashes: Uint8Array<ArrayBuffer>;
  } {
    return {
      lengths: this.#lengths.slice(0, this.count),
      hashes: this.#hashes.slice(0, this.count * BLAKE3_LEN),
    };
  }
}

/**
 * Chunks and hashes `data[from, to)`, which continues the chunker's current
 * chunk that starts at `chunkStart`; returns where the unfinished chunk now
 * starts. Works in slices so a chunk is hashed soon after it was scanned.
 */
function cutAndHash(
  chunker: Chunker,
  chunks: ChunkList,
  data: Uint8Array,
  chunkStart: number,
  from: number,
  to: number,
): number {
  for (let s = from; s < to; s += SLICE) {
    const cuts = chunker.push(data.subarray(s, Math.min(to, s + SLICE)));
    for (const len of cuts) {
      chunks.add(data.subarray(chunkStart, chunkStart + len));
      chunkStart += len;
    }
  }
  return chunkStart;
}

/** Where {@linkcode cutKnownAndHash} left a block. */
interface CutProgress {
  /** Start of the unfinished chunk. */
  chunkStart: number;
  /** Bytes up to here went through the chunker (or were taken as known chunks). */
  scanned: number;
}

/**
 * {@linkcode cutAndHash} with the file's previous chunks (see
 * `known_cuts.ts`): wherever the chunker stands at one of their starts, the
 * previous chunk is checked and, when it is the same, taken without a scan.
 * `base` is the file offset of `data[0]`; the chunker holds
 * `data[chunkStart, scanned)` of the unfinished chunk.
 */
function cutKnownAndHash(
  chunker: Chunker,
  chunks: ChunkList,
  known: KnownCuts,
  data: Uint8Array,
  base: number,
  at: CutProgress,
  to: number,
): CutProgress {
  let { chunkStart, scanned } = at;
  while (scanned < to) {
    if (scanned === chunkStart) {
      const k = known.chunkAt(base + chunkStart);
      if (k !== undefined) {
        const length = known.lengthOf(k);
        const end = chunkStart + length;
        // The byte after the chunk decides its cut, so it must be here.
        if (end > to || (end === to && length !== MAX_CHUNK)) {
          break; // decided once more data is here
        }
        const same = cutsAt(data, chunkStart, length) &&
          chunks.addIfHashes(data.subarray(chunkStart, end), known.hashOf(k));
        known.checked(same);
        if (same) {
          chunkStart = scanned = end;
          continue;
        }
      }
    }
    const stop = Math.min(to, scanned + SLICE);
    const cuts = chunker.push(data.subarray(scanned, stop));
    scanned = stop;
    for (const len of cuts) {
      chunks.add(data.subarray(chunkStart, chunkStart + len));
      chunkStart += len;
      if (known.has(base + chunkStart)) {
        // Back on a previous cut: start over from it, checking chunks.
        chunker.finish();
        scanned = chunkStart;
        break;
      }
    }
  }
  return { chunkStart, scanned };
}

/** Digest of a packed digest's flat buffers, checked for consistency. */
export function unpackDigest(p: PackedDigest): FileDigest {
  const n = p.lengths.length;
  if (p.hash.length !== BLAKE3_LEN || p.hashes.length !== n * BLAKE3_LEN) {
    throw new TypeError(
      `Malformed packed digest: ${n} chunks, ${p.hashes.length} hash bytes`,
    );
  }
  const chunks: ChunkInfo[] = new Array(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const length = p.lengths[i]!;
    chunks[i] = {
      offset,
      length,
      hash: p.hashes.subarray(i * BLAKE3_LEN, (i + 1) * BLAKE3_LEN),
    };
    offset += length;
  }
  if (offset !== p.size) {
    throw new TypeError(
      `Malformed packed digest: chunks cover ${offset} of ${p.size} bytes`,
    );
  }
  return { size: p.size, hash: p.hash, chunks };
}

/** Packed digest of `data` (whole-buffer version), hashed in place. */
export function digestBytesPacked(data: Uint8Array): PackedDigest {
  const chunker = new Chunker();
  const chunks = new ChunkList();
  const start = cutAndHash(chunker, chunks, data, 0, 0, data.length);
  const last = chunker.finish();
  if (last > 0) chunks.add(data.subarray(start, start + last));
  return chunks.pack(data.length);
}

/** Digest of `data`: its chunks, their hashes and the file hash over them. */
export function digestBytes(data: Uint8Array): FileDigest {
  return unpackDigest(digestBytesPacked(data));
}

/**
 * Packed digest of the file at `path`, read in blocks into a reused buffer;
 * `previous` as for {@linkcode digestFilePart}.
 * Rejects with the `Deno.errors` error of the failing open or read.
 */
export async function digestFilePacked(
  path: string,
  signal?: AbortSignal,
  previous?: PreviousChunks,
): Promise<PackedDigest> {
  const part = await digestFilePart(path, 0, Infinity, signal, previous);
  return {
    size: part.bytes,
    hash: fileHashOf(part.hashes) as Uint8Array<ArrayBuffer>,
    lengths: part.lengths,
    hashes: part.hashes,
  };
}

/**
 * The chunks of a file from byte `from` on, cut as if the file started
 * there (see `split_digest.ts`): up to `limit` bytes are read, and only
 * chunks that end inside them are given, unless the file ends first
 * (`eof`), when the last one is given too.
 */
export interface DigestPart {
  readonly from: number;
  /** Bytes read. */
  readonly bytes: number;
  readonly eof: boolean;
  readonly lengths: Uint32Array<ArrayBuffer>;
  readonly hashes: Uint8Array<ArrayBuffer>;
}

/**
 * {@linkcode DigestPart} of the file at `path`; rejects as
 * `digestFilePacked`. With `previous` (the chunks the index holds for the
 * file), the chunks found unchanged are checked instead of searched for
 * (`known_cuts.ts`); the result is the same.
 */
export async function digestFilePart(
  path: string,
  from: number,
  limit: number,
  signal?: AbortSignal,
  previous?: PreviousChunks,
): Promise<DigestPart> {
  signal?.throwIfAborted();
  const known = previous === undefined || previous.lengths.length === 0
    ? undefined
    : new KnownCuts(previous);
  using file = await Deno.open(path, { read: true });
  if (from > 0) await file.seek(from, Deno.SeekMode.Start);
  // Reading the next block while hashing this one was measured slower when
  // every core is busy hashing; the pool overlaps I/O across files instead.
  const bufs = freeBuffers.pop() ?? digestBuffers();
  const buf = bufs.work;
  try {
    const chunker = new Chunker();
    const chunks = new ChunkList();
    let carry = 0; // bytes of the unfinished chunk, just before MAX_CHUNK
    let unscanned = 0; // of which not through the chunker yet (known cuts)
    let size = 0;
    let eof = false;
    while (size < limit) {
      const want = Math.min(BLOCK, limit - size);
      const n = await file.read(bufs.staging.subarray(0, want));
      if (n === null) {
        eof = true;
        break;
      }
      signal?.throwIfAborted();
      buf.set(bufs.staging.subarray(0, n), MAX_CHUNK);
      const end = MAX_CHUNK + n;
      let start: number;
      if (known === undefined) {
        start = cutAndHash(
          chunker,
          chunks,
          buf,
          MAX_CHUNK - carry,
          MAX_CHUNK,
          end,
        );
      } else {
        const at = cutKnownAndHash(
          chunker,
          chunks,
          known,
          buf,
          from + size - MAX_CHUNK,
          { chunkStart: MAX_CHUNK - carry, scanned: MAX_CHUNK - unscanned },
          end,
        );
        start = at.chunkStart;
        unscanned = end - at.scanned;
      }
      carry = end - start;
      buf.copyWithin(MAX_CHUNK - carry, start, end);
      size += n;
    }
    if (eof && unscanned > 0) {
      // A known chunk waited for a byte after it: there is none.
      cutAndHash(
        chunker,
        chunks,
        buf,
        MAX_CHUNK - carry,
        MAX_CHUNK - unscanned,
        MAX_CHUNK,
      );
    }
    const last = chunker.finish();
    if (eof && last > 0) chunks.add(buf.subarray(MAX_CHUNK - last, MAX_CHUNK));
    return { from, bytes: size, eof, ...chunks.packed() };
  } finally {
    if (freeBuffers.length < KEPT_BUFFERS) freeBuffers.push(bufs);
  }
}

/** Digest of the file at `path`, streamed (memory stays bounded for any size). */
export async function digestFile(
  path: string,
  signal?: AbortSignal,
): Promise<FileDigest> {
  return unpackDigest(await digestFilePacked(path, signal));
}
