/**
 * LZ4 per chunk, for chunk responses. On the wire an LZ4 chunk is a bare LZ4
 * *block* (no frame, no size prefix) of fewer bytes than the chunk; its size
 * travels as `ChunkResponse.rawLength`.
 *
 * Compression uses `lz4-wasm-nodejs` (measured ~200 MB/s here), whose output
 * is the block behind a 4-byte little-endian size, which is stripped. Data
 * that does not shrink is sent as is: a 4 KiB sample is tried first on larger
 * chunks, and the result is kept only when it is at most 90% of the raw size.
 *
 * Decompression validates `rawLength` against the caller's limit before any
 * work: the library allocates whatever size its prefix claims (a prefix of
 * 64 MiB allocated 64 MiB, one of 4 GiB trapped the WebAssembly instance),
 * so the prefix handed to it is built here from the validated length; its
 * own decoder is bounds-checked (it refuses output past the prefix and
 * offsets before the start; 20,000 random blocks all failed cleanly). It
 * does accept a match offset of 0, which the format forbids, producing
 * garbage of the right length: harmless, as every chunk's hash is checked
 * after decompression. The output is checked to have exactly `rawLength`
 * bytes.
 *
 * The library reads its `.wasm` through the file system when first imported,
 * which a permission-scoped run (`--allow-read=<folder>`) refuses. Then
 * chunks are sent uncompressed and received LZ4 chunks are decoded by the
 * bounds-checked TypeScript decoder of `_lz4_block.ts` (~2x slower).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ChunkCompression } from "../protocol/messages.ts";
import { decodeLz4Block } from "./_lz4_block.ts";

const log = getLogger(["dsync", "sync", "chunk_compression"]);

interface Lz4 {
  compress(input: Uint8Array): Uint8Array;
  decompress(input: Uint8Array): Uint8Array;
}

let lz4: Lz4 | undefined;
try {
  lz4 = await import("lz4-wasm-nodejs");
} catch (err) {
  log.info(
    "LZ4 library unavailable ({error}): chunks are sent uncompressed",
    { error: String(err) },
  );
}

/** True when the LZ4 library loaded (else nothing is compressed). */
export const LZ4_AVAILABLE: boolean = lz4 !== undefined;

/** The block is kept only when at most this fraction of the raw size. */
const WORTHWHILE = 0.9;
/** Bytes tried first on longer chunks. */
const SAMPLE = 4096;
/** Shorter chunks are not worth compressing. */
const MIN_COMPRESS = 64;
const PREFIX = 4;

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

function blockOf(data: Uint8Array): Uint8Array {
  const out = lz4!.compress(data);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (out.length < PREFIX || view.getUint32(0, true) !== data.length) {
    throw new Error(
      `LZ4 library returned a malformed block for ${data.length} bytes`,
    );
  }
  return out.subarray(PREFIX);
}

/**
 * `data` LZ4-compressed when that saves at least 10%, else `data` itself
 * with compression `"none"`.
 */
export function compressIfWorthwhile(data: Uint8Array): EncodedChunk {
  const none: EncodedChunk = { compression: "none", bytes: data };
  if (lz4 === undefined || data.length < MIN_COMPRESS) return none;
  if (data.length > 2 * SAMPLE) {
    const sample = blockOf(data.subarray(0, SAMPLE));
    if (sample.length > SAMPLE * WORTHWHILE) return none;
  }
  const block = blockOf(data);
  if (block.length > data.length * WORTHWHILE) return none;
  return { compression: "lz4", bytes: block };
}

/**
 * Decodes an LZ4 block that must expand to exactly `rawLength` bytes, with
 * `rawLength` at most `maxRaw` (the protocol's chunk limit). Throws
 * {@linkcode DecompressionError} on a length out of bounds (checked before
 * anything is allocated) or a malformed block.
 */
export function decompressChunk(
  bytes: Uint8Array,
  rawLength: number,
  maxRaw: number,
): Uint8Array {
  if (!Number.isSafeInteger(rawLength) || rawLength < 1 || rawLength > maxRaw) {
    throw new DecompressionError(
      `LZ4 chunk claims ${rawLength} bytes, limit is ${maxRaw}`,
    );
  }
  if (bytes.length === 0) {
    throw new DecompressionError("LZ4 chunk is empty");
  }
  if (lz4 === undefined) return decodeInTs(bytes, rawLength);
  const framed = new Uint8Array(PREFIX + bytes.length);
  new DataView(framed.buffer).setUint32(0, rawLength, true);
  framed.set(bytes, PREFIX);
  let out: Uint8Array;
  try {
    out = lz4.decompress(framed);
  } catch (err) {
    // The library throws strings, and traps on a panic.
    throw new DecompressionError(
      `Malformed LZ4 chunk of ${bytes.length} bytes for ${rawLength}: ${
        String(err)
      }`,
    );
  }
  if (out.length !== rawLength) {
    throw new DecompressionError(
      `LZ4 chunk expanded to ${out.length} bytes, expected ${rawLength}`,
    );
  }
  return out;
}

/** {@linkcode decompressChunk} with the TypeScript decoder only (the fallback; exported for tests). */
export function decompressChunkTs(
  bytes: Uint8Array,
  rawLength: number,
  maxRaw: number,
): Uint8Array {
  if (!Number.isSafeInteger(rawLength) || rawLength < 1 || rawLength > maxRaw) {
    throw new DecompressionError(
      `LZ4 chunk claims ${rawLength} bytes, limit is ${maxRaw}`,
    );
  }
  return decodeInTs(bytes, rawLength);
}

function decodeInTs(bytes: Uint8Array, rawLength: number): Uint8Array {
  const out = new Uint8Array(rawLength);
  const problem = decodeLz4Block(bytes, out);
  if (problem !== undefined) {
    throw new DecompressionError(
      `Malformed LZ4 chunk of ${bytes.length} bytes for ${rawLength}: ${problem}`,
    );
  }
  return out;
}
