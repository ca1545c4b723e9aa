/**
 * A file's chunk list as it is stored and held: (u32 BE length, 32-byte
 * hash) per chunk, offsets implied, in one byte array (the index's
 * `chunks` column, and how a peer's record is kept from the moment it is
 * taken in).
 *
 * Issue #19 point 5: a record at the 448K-chunk cap decoded as one object
 * and one 32-byte view per chunk held 120 MB of heap (measured: three
 * such records held 356 MB after a full GC, and each took about 1 s of
 * the event loop to decode, convert, store and read back). A long list
 * now decodes to an array that holds the bytes and an offset per chunk
 * (44 bytes a chunk) and makes each {@linkcode PackedChunk} when it is
 * read, its hash view only when that is read. Storing a packed list writes
 * its bytes as they are. Short lists (the honest common case) decode to
 * plain objects, which are cheaper to read.
 * @module
 */

import type { ChunkInfo } from "./file_digest.ts";
import { fileHasher, fileHashOf } from "./hash.ts";
import { lazyArray } from "../protocol/mod.ts";

/** Bytes of one chunk hash. */
export const CHUNK_HASH_BYTES = 32;
/** Bytes of one chunk entry: u32 BE length, then the hash. */
export const CHUNK_ENTRY_BYTES = 4 + CHUNK_HASH_BYTES;
/**
 * Lists of more chunks than this (a file over ~64 MiB at the 64 KiB
 * average) decode to {@linkcode PackedChunk}s.
 */
export const PACKED_FROM_CHUNKS = 1024;

/** The encoded bytes behind a packed list (so storing it copies nothing). */
const packedBytes = new WeakMap<readonly ChunkInfo[], Uint8Array>();
/** The encoded list of a record whose `chunks` are decoded on first use. */
const lazyBytes = new WeakMap<object, Uint8Array>();

/**
 * One chunk of a packed list: its offset and length as numbers, its hash
 * a view into the list's bytes made when read.
 */
export class PackedChunk implements ChunkInfo {
  readonly offset: number;
  readonly length: number;
  readonly #bytes: Uint8Array;
  readonly #at: number;

  constructor(bytes: Uint8Array, at: number, offset: number, length: number) {
    this.#bytes = bytes;
    this.#at = at;
    this.offset = offset;
    this.length = length;
  }

  /** BLAKE3 of the chunk (32 bytes, a view into the list's bytes). */
  get hash(): Uint8Array {
    return this.#bytes.subarray(
      this.#at + 4,
      this.#at + CHUNK_ENTRY_BYTES,
    );
  }
}

/** Packs chunks as (u32 BE length, 32-byte hash) each; offsets are implied. */
export function encodeChunks(chunks: readonly ChunkInfo[]): Uint8Array {
  const packed = packedBytes.get(chunks);
  if (packed !== undefined) return packed;
  const out = new Uint8Array(chunks.length * CHUNK_ENTRY_BYTES);
  let expectedOffset = 0;
  for (let k = 0; k < chunks.length; k++) {
    const chunk = chunks[k]!;
    const hash = chunk.hash;
    if (hash.length !== CHUNK_HASH_BYTES) {
      throw new RangeError(
        `Chunk hash of ${hash.length} bytes is not ${CHUNK_HASH_BYTES}`,
      );
    }
    if (
      chunk.offset !== expectedOffset || chunk.length < 0 ||
      chunk.length > 0xffffffff
    ) {
      throw new RangeError(
        `Chunk at offset ${chunk.offset} of length ${chunk.length} is not contiguous`,
      );
    }
    expectedOffset += chunk.length;
    // The length as u32 BE, by hand: a DataView per list cost more than
    // the rest of the encoding for the one-chunk lists of small files.
    const at = k * CHUNK_ENTRY_BYTES;
    const length = chunk.length;
    out[at] = length >>> 24;
    out[at + 1] = (length >>> 16) & 0xff;
    out[at + 2] = (length >>> 8) & 0xff;
    out[at + 3] = length & 0xff;
    out.set(hash, at + 4);
  }
  return out;
}

/**
 * Unpacks {@linkcode encodeChunks}; throws `RangeError` on a bad length.
 * A list of more than {@linkcode PACKED_FROM_CHUNKS} chunks is packed
 * (see the module comment) and keeps `bytes`: do not change them after.
 */
export function decodeChunks(bytes: Uint8Array): ChunkInfo[] {
  if (bytes.length % CHUNK_ENTRY_BYTES !== 0) {
    throw new RangeError(
      `Chunk list of ${bytes.length} bytes is not a multiple of ${CHUNK_ENTRY_BYTES}`,
    );
  }
  const count = bytes.length / CHUNK_ENTRY_BYTES;
  if (count > PACKED_FROM_CHUNKS) return packedList(bytes, count);
  const chunks: ChunkInfo[] = new Array(count);
  let offset = 0;
  for (let k = 0, at = 0; k < count; k++, at += CHUNK_ENTRY_BYTES) {
    const length = lengthAt(bytes, at);
    chunks[k] = {
      offset,
      length,
      hash: bytes.subarray(at + 4, at + CHUNK_ENTRY_BYTES),
    };
    offset += length;
  }
  return chunks;
}

function lengthAt(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) |
    (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/**
 * An array of `count` chunks that holds only `bytes` and their offsets
 * (8 bytes a chunk): each element is made when read. One object per chunk,
 * held, still cost 28 MB at the cap; reading every chunk of such a list
 * through here once takes about 0.1 s.
 */
function packedList(bytes: Uint8Array, count: number): ChunkInfo[] {
  const offsets = new Float64Array(count);
  let offset = 0;
  for (let k = 0; k < count; k++) {
    offsets[k] = offset;
    offset += lengthAt(bytes, k * CHUNK_ENTRY_BYTES);
  }
  const list = lazyArray<ChunkInfo>(count, (index) => {
    const at = index * CHUNK_ENTRY_BYTES;
    return new PackedChunk(bytes, at, offsets[index]!, lengthAt(bytes, at));
  });
  packedBytes.set(list, bytes);
  return list;
}

/** A chunk that writes its own 32-byte hash (the protocol's decoded chunks). */
interface HashCopier {
  copyHash(out: Uint8Array, at: number): void;
}

/**
 * The encoding of `count` chunks whose lengths and hashes `entry` gives
 * (by index), into one fresh byte array: the copy a peer's record keeps,
 * so it pins nothing of the message it came in.
 */
export function packChunkBytes(
  count: number,
  entry: (index: number) => {
    readonly length: number;
    readonly hash: Uint8Array;
  },
): Uint8Array {
  const out = new Uint8Array(count * CHUNK_ENTRY_BYTES);
  for (let k = 0; k < count; k++) {
    const chunk = entry(k);
    const length = chunk.length;
    if (!(length >= 0 && length <= 0xffffffff)) {
      throw new RangeError(`Chunk length ${length} is out of range`);
    }
    const at = k * CHUNK_ENTRY_BYTES;
    out[at] = length >>> 24;
    out[at + 1] = (length >>> 16) & 0xff;
    out[at + 2] = (length >>> 8) & 0xff;
    out[at + 3] = length & 0xff;
    // A decoded wire chunk copies its 32-byte hash without making a view.
    const copy = (chunk as Partial<HashCopier>).copyHash;
    if (typeof copy === "function") {
      copy.call(chunk, out, at + 4);
      continue;
    }
    const hash = chunk.hash;
    if (hash.length !== CHUNK_HASH_BYTES) {
      throw new RangeError(
        `Chunk hash of ${hash.length} bytes is not ${CHUNK_HASH_BYTES}`,
      );
    }
    out.set(hash, at + 4);
  }
  return out;
}

/** {@linkcode packChunkBytes}, decoded as {@linkcode decodeChunks} does. */
export function packChunks(
  count: number,
  entry: (index: number) => {
    readonly length: number;
    readonly hash: Uint8Array;
  },
): ChunkInfo[] {
  return decodeChunks(packChunkBytes(count, entry));
}

/** Bytes covered by an encoded list (the sum of its lengths). */
export function chunkBytesCovered(bytes: Uint8Array): number {
  let total = 0;
  for (let at = 0; at + 4 <= bytes.length; at += CHUNK_ENTRY_BYTES) {
    total += ((bytes[at]! << 24) | (bytes[at + 1]! << 16) |
      (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  }
  return total;
}

/** Lists of up to this many chunks are hashed in one call. */
const ONE_SHOT_CHUNKS = 2048;

/**
 * `fileHashOf` the hashes of an encoded list. A short list is copied out
 * and hashed in one call: an incremental hasher per record cost 3.7 s of
 * a receiver's main thread for 100,000 one-chunk files. A long one is fed
 * through a small stage: copying it out whole took two more 15 MB buffers
 * at the chunk cap.
 */
export function fileHashOfList(bytes: Uint8Array): Uint8Array {
  const count = Math.floor(bytes.length / CHUNK_ENTRY_BYTES);
  if (count <= ONE_SHOT_CHUNKS) {
    const hashes = new Uint8Array(count * CHUNK_HASH_BYTES);
    for (let k = 0; k < count; k++) {
      const at = k * CHUNK_ENTRY_BYTES + 4;
      hashes.set(
        bytes.subarray(at, at + CHUNK_HASH_BYTES),
        k * CHUNK_HASH_BYTES,
      );
    }
    return fileHashOf(hashes);
  }
  const hasher = fileHasher();
  const stage = new Uint8Array(ONE_SHOT_CHUNKS * CHUNK_HASH_BYTES);
  let fill = 0;
  for (let k = 0; k < count; k++) {
    const at = k * CHUNK_ENTRY_BYTES + 4;
    for (let b = 0; b < CHUNK_HASH_BYTES; b++) stage[fill + b] = bytes[at + b]!;
    fill += CHUNK_HASH_BYTES;
    if (fill === stage.length) {
      hasher.update(stage);
      fill = 0;
    }
  }
  if (fill > 0) hasher.update(stage.subarray(0, fill));
  return hasher.digest();
}

/** Chunk counts of records whose `chunks` are decoded on first use. */
const lazyCounts = new WeakMap<object, number>();

/**
 * `base` with a `chunks` property decoded on first read from `bytes`, or
 * from what `load` returns then (a record that is stored, and maybe never
 * pulled, costs its bytes at most). `count`, the list's length when
 * `load` is given, lets {@linkcode chunkCountOf} answer without loading.
 */
export function withLazyChunks<T extends object>(
  base: T,
  bytes: Uint8Array | (() => Uint8Array),
  count?: number,
): T & { readonly chunks: ChunkInfo[] } {
  let chunks: ChunkInfo[] | undefined;
  const record = Object.defineProperty(base, "chunks", {
    get: () =>
      chunks ??= decodeChunks(typeof bytes === "function" ? bytes() : bytes),
    enumerable: true,
  }) as T & { readonly chunks: ChunkInfo[] };
  if (typeof bytes !== "function") {
    lazyBytes.set(record, bytes);
    lazyCounts.set(record, bytes.length / CHUNK_ENTRY_BYTES);
  } else if (count !== undefined) lazyCounts.set(record, count);
  return record;
}

/**
 * How many chunks `record` lists, without decoding or loading a lazy
 * list (a pull's memory is decided before its list is read: issue #19
 * point 5).
 */
export function chunkCountOf(
  record: { readonly chunks: readonly ChunkInfo[] },
): number {
  return lazyCounts.get(record) ?? record.chunks.length;
}

/**
 * The encoded chunk list of `record`: the bytes it was decoded from when
 * it has them (nothing is decoded or copied), else {@linkcode encodeChunks}.
 */
export function encodeChunksOf(
  record: { readonly chunks: readonly ChunkInfo[] },
): Uint8Array {
  return lazyBytes.get(record) ?? encodeChunks(record.chunks);
}
