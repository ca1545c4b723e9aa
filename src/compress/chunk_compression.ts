/**
 * LZ4 per chunk, for chunk responses. On the wire an LZ4 chunk is a bare LZ4
 * *block* (no frame, no size prefix) of fewer bytes than the chunk; its size
 * travels as `ChunkResponse.rawLength`.
 *
 * Both directions are dsync's own code, WebAssembly emitted at load time
 * (`_lz4_wasm.ts`), falling back to the same algorithms in TypeScript
 * (`_lz4_compress.ts`, `_lz4_block.ts`) where WebAssembly is unavailable.
 * Nothing is loaded from disk or the network, so compression works the same
 * under `--allow-read=<folder>` and in compiled binaries. Data that does not shrink is sent as is: the compressor writes
 * into a buffer of 90% of the raw size and gives up as soon as it overflows,
 * and skips ahead faster the longer it finds no match, so random data costs
 * little.
 *
 * Decompression validates `rawLength` against the caller's limit before any
 * work, checks every length and offset of the block against the input and
 * the output before using it, and fails unless the block fills exactly
 * `rawLength` bytes.
 * @module
 */

import { type ChunkCompression, MAX_CHUNK_SIZE } from "../protocol/mod.ts";
import { decodeLz4Block, type Lz4BlockProblem } from "./_lz4_block.ts";
import { compressLz4BlockWasm, decodeLz4BlockWasm } from "./_lz4_wasm.ts";

/**
 * Always true: compression no longer depends on a library that may fail to
 * load. Kept for callers written when it could.
 */
export const LZ4_AVAILABLE: boolean = true;

/** The block is kept only when at most this fraction of the raw size. */
const WORTHWHILE = 0.9;
/** Shorter chunks are not worth compressing. */
const MIN_COMPRESS = 64;

/** Reused output buffer for chunk-sized inputs; each result is copied out. */
const scratch = new Uint8Array(MAX_CHUNK_SIZE);

/** The data is not a valid LZ4 block of the announced size, or the size is out of bounds. */
export class DecompressionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecompressionError";
  }
}

/** A chunk as it goes on the wire. */
export interface EncodedChunk {
  readonly compression: ChunkCompression;
  /** The raw chunk, or an LZ4 block strictly shorter than it. */
  readonly bytes: Uint8Array;
}

/**
 * `data` LZ4-compressed when that saves at least 10%, else `data` itself
 * with compression `"none"`.
 */
export function compressIfWorthwhile(data: Uint8Array): EncodedChunk {
  const none: EncodedChunk = { compression: "none", bytes: data };
  if (data.length < MIN_COMPRESS) return none;
  const cap = Math.floor(data.length * WORTHWHILE);
  const out = cap <= scratch.length
    ? scratch.subarray(0, cap)
    : new Uint8Array(cap);
  const length = compressLz4BlockWasm(data, out);
  if (length < 0) return none;
  return { compression: "lz4", bytes: out.slice(0, length) };
}

/**
 * Decodes an LZ4 block that must expand to exactly `rawLength` bytes, with
 * `rawLength` at most `maxRaw` (the protocol's chunk limit), into `into`
 * when given (of `rawLength` bytes at least; a caller's pooled buffer),
 * else into a new buffer. Throws {@linkcode DecompressionError} on a length
 * out of bounds (checked before anything is allocated) or a malformed block.
 */
export function decompressChunk(
  bytes: Uint8Array,
  rawLength: number,
  maxRaw: number,
  into?: () => Uint8Array,
): Uint8Array {
  checkRawLength(rawLength, maxRaw);
  if (bytes.length === 0) {
    throw new DecompressionError("LZ4 chunk is empty");
  }
  return decodeWith(decodeLz4BlockWasm, bytes, rawLength, into);
}

/** {@linkcode decompressChunk} with the TypeScript decoder (the fallback; exported for tests). */
export function decompressChunkTs(
  bytes: Uint8Array,
  rawLength: number,
  maxRaw: number,
): Uint8Array {
  checkRawLength(rawLength, maxRaw);
  return decodeWith(decodeLz4Block, bytes, rawLength);
}

function checkRawLength(rawLength: number, maxRaw: number): void {
  if (!Number.isSafeInteger(rawLength) || rawLength < 1 || rawLength > maxRaw) {
    throw new DecompressionError(
      `LZ4 chunk claims ${rawLength} bytes, limit is ${maxRaw}`,
    );
  }
}

function decodeWith(
  decode: (src: Uint8Array, out: Uint8Array) => Lz4BlockProblem | undefined,
  bytes: Uint8Array,
  rawLength: number,
  into?: () => Uint8Array,
): Uint8Array {
  const out = into?.().subarray(0, rawLength) ?? new Uint8Array(rawLength);
  if (out.length !== rawLength) {
    throw new RangeError(
      `Buffer of ${out.length} bytes cannot hold ${rawLength}`,
    );
  }
  const problem = decode(bytes, out);
  if (problem !== undefined) {
    throw new DecompressionError(
      `Malformed LZ4 chunk of ${bytes.length} bytes for ${rawLength}: ${problem}`,
    );
  }
  return out;
}
