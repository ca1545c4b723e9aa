/**
 * Content digest of a file: FastCDC chunks with a BLAKE3 hash each, and the
 * file hash over those (`fileHashOf`), computed in one streaming pass.
 * @module
 */

import {
  acquireEngine,
  type Blake3Engine,
  releaseEngine,
} from "./_blake3_engine.ts";
import { Chunker, MAX_CHUNK } from "./chunker.ts";
import { BLAKE3_LEN, fileHashOf } from "./hash.ts";

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
/** Data is chunked and hashed in slices this long, while still in cache. */
const SLICE = 256 << 10;
/**
 * Engine heap: a reserve for the unfinished chunk carried over from the
 * previous block (always < MAX_CHUNK) followed by room for one block, so the
 * carry and the new data are contiguous without moving the new data.
 */
const HEAP = MAX_CHUNK + BLOCK;

/**
 * Streaming digest over engine memory: write up to `BLOCK` bytes into
 * `space()`, `commit(n)` them, repeat, then `finish()`.
 */
class DigestState {
  readonly #e: Blake3Engine;
  readonly #data: number; // where each block goes
  readonly #chunker = new Chunker();
  #carry = 0; // bytes of the unfinished chunk, just before #data
  #size = 0;
  #count = 0;
  #lengths = new Uint32Array(64);
  #hashes = new Uint8Array(64 * BLAKE3_LEN);

  constructor(engine: Blake3Engine) {
    if (engine.heapSize < HEAP) {
      throw new RangeError(`Engine heap too small: ${engine.heapSize}`);
    }
    this.#e = engine;
    this.#data = engine.heap + MAX_CHUNK;
    engine.reset();
  }

  /** Where the next input bytes go. */
  space(): Uint8Array {
    return this.#e.bytes.subarray(this.#data, this.#data + BLOCK);
  }

  /** Takes the first `n` bytes written to `space()`. */
  commit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > BLOCK) {
      throw new RangeError(`Cannot commit ${n} bytes`);
    }
    const e = this.#e;
    const data = this.#data;
    const end = data + n;
    let chunkStart = data - this.#carry; // start of the unfinished chunk
    for (let s = data; s < end; s += SLICE) {
      const sliceEnd = Math.min(end, s + SLICE);
      const cuts = this.#chunker.push(e.bytes.subarray(s, sliceEnd));
      for (const len of cuts) {
        this.#addChunk(chunkStart, len);
        chunkStart += len;
      }
    }
    this.#carry = end - chunkStart;
    e.bytes.copyWithin(data - this.#carry, chunkStart, end);
    this.#size += n;
  }

  /** Ends the input and returns the digest; the state cannot be used afterwards. */
  finish(): PackedDigest {
    const last = this.#chunker.finish();
    const data = this.#data;
    if (last > 0) this.#addChunk(data - last, last);
    const hashes = this.#hashes.slice(0, this.#count * BLAKE3_LEN);
    return {
      size: this.#size,
      hash: fileHashOf(hashes) as Uint8Array<ArrayBuffer>,
      lengths: this.#lengths.slice(0, this.#count),
      hashes,
    };
  }

  #addChunk(ptr: number, len: number): void {
    if (this.#count === this.#lengths.length) {
      const lengths = new Uint32Array(this.#count * 2);
      lengths.set(this.#lengths);
      this.#lengths = lengths;
      const hashes = new Uint8Array(this.#count * 2 * BLAKE3_LEN);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    this.#e.hashRange(ptr, len, this.#hashes, this.#count * BLAKE3_LEN);
    this.#lengths[this.#count++] = len;
  }
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

/** Packed digest of `data` (whole-buffer version). */
export function digestBytesPacked(data: Uint8Array): PackedDigest {
  const engine = acquireEngine(HEAP);
  try {
    const state = new DigestState(engine);
    for (let off = 0; off < data.length; off += BLOCK) {
      const part = data.subarray(off, off + BLOCK);
      state.space().set(part);
      state.commit(part.length);
    }
    return state.finish();
  } finally {
    releaseEngine(HEAP, engine);
  }
}

/** Digest of `data`: its chunks, their hashes and the file hash over them. */
export function digestBytes(data: Uint8Array): FileDigest {
  return unpackDigest(digestBytesPacked(data));
}

/**
 * Packed digest of the file at `path`, read in blocks into a reused buffer.
 * Rejects with the `Deno.errors` error of the failing open or read.
 */
export async function digestFilePacked(
  path: string,
  signal?: AbortSignal,
): Promise<PackedDigest> {
  signal?.throwIfAborted();
  using file = await Deno.open(path, { read: true });
  // Reading the next block while hashing this one was measured slower when
  // every core is busy hashing; the pool overlaps I/O across files instead.
  const engine = acquireEngine(HEAP);
  try {
    const state = new DigestState(engine);
    while (true) {
      const n = await file.read(state.space());
      if (n === null) break;
      signal?.throwIfAborted();
      state.commit(n);
    }
    return state.finish();
  } finally {
    releaseEngine(HEAP, engine);
  }
}

/** Digest of the file at `path`, streamed (memory stays bounded for any size). */
export async function digestFile(
  path: string,
  signal?: AbortSignal,
): Promise<FileDigest> {
  return unpackDigest(await digestFilePacked(path, signal));
}
