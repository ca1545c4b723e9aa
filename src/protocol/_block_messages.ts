/**
 * The two block-delta messages (`BlockRequest`, `BlockResponse`): their
 * field checks and their layout, kept beside the codec (which dispatches
 * to them) so the codec stays one reader and one writer per message.
 * Layouts in docs/PROTOCOL.md ("BlockRequest", "BlockResponse").
 */
import { checkChunkRequest, checkInt } from "./_checks.ts";
import type { Reader } from "./_reader.ts";
import type { Writer } from "./_writer.ts";
import { MalformedMessageError } from "./errors.ts";
import {
  BLOCK_SIGNATURE_SIZE,
  blocksOf,
  HASH_SIZE,
  MAX_BLOCKS_PER_CHUNK,
  MAX_CHUNK_SIZE,
  MAX_FILE_SIZE,
  MAX_PATH_BYTES,
  MAX_REQUEST_ID,
} from "./limits.ts";
import type {
  BlockRequest,
  BlockResponse,
  ChunkCompression,
  ChunkStatus,
} from "./messages.ts";

const STATUSES: readonly ChunkStatus[] = [
  "ok",
  "changed",
  "not_found",
  "refused",
];
const COMPRESSIONS: readonly ChunkCompression[] = ["none", "lz4"];
/** Longest bitmap: one bit per block of the largest chunk. */
export const MAX_BITMAP_BYTES: number = Math.ceil(MAX_BLOCKS_PER_CHUNK / 8);
/** Longest signature list. */
export const MAX_SIGNATURE_BYTES: number = MAX_BLOCKS_PER_CHUNK *
  BLOCK_SIGNATURE_SIZE;

function malformed(message: string): never {
  throw new MalformedMessageError(message);
}

/** The fields of a `ChunkRequest`, and one signature per block of `length`. */
export function checkBlockRequest(msg: BlockRequest): void {
  checkChunkRequest({ ...msg, type: "chunk_request" });
  if (!(msg.signatures instanceof Uint8Array)) {
    malformed("Invalid BlockRequest signatures: not bytes");
  }
  const expected = blocksOf(msg.length) * BLOCK_SIGNATURE_SIZE;
  if (msg.signatures.length !== expected) {
    malformed(
      `Invalid BlockRequest: ${msg.signatures.length} signature bytes for ${msg.length} bytes (${expected} expected)`,
    );
  }
}

/**
 * Status, compression and lengths agree: not ok carries nothing; ok has a
 * bitmap of 1 to `MAX_BITMAP_BYTES` bytes and raw or LZ4 data as
 * `ChunkResponse` does, except that `rawLength` may be 0 (no block differs).
 */
export function checkBlockResponse(msg: BlockResponse): void {
  checkInt("BlockResponse id", msg.id, 0, MAX_REQUEST_ID);
  const { status, compression, bitmap, data, rawLength } = msg;
  if (!STATUSES.includes(status)) {
    malformed(`Invalid BlockResponse status ${JSON.stringify(status)}`);
  }
  if (!COMPRESSIONS.includes(compression)) {
    malformed(
      `Invalid BlockResponse compression ${JSON.stringify(compression)}`,
    );
  }
  if (!(data instanceof Uint8Array) || !(bitmap instanceof Uint8Array)) {
    malformed("Invalid BlockResponse bitmap or data: not bytes");
  }
  checkInt("BlockResponse raw length", rawLength, 0, MAX_CHUNK_SIZE);
  if (status !== "ok") {
    if (
      compression !== "none" || data.length !== 0 || rawLength !== 0 ||
      bitmap.length !== 0
    ) {
      malformed(
        `Invalid BlockResponse: status ${status} carries no data, got compression ${compression}, ${bitmap.length} bitmap bytes, ${data.length} bytes, raw length ${rawLength}`,
      );
    }
    return;
  }
  checkInt("BlockResponse bitmap length", bitmap.length, 1, MAX_BITMAP_BYTES);
  if (compression === "none") {
    if (data.length !== rawLength) {
      malformed(
        `Invalid BlockResponse: ${data.length} uncompressed bytes, raw length ${rawLength}`,
      );
    }
  } else if (data.length === 0 || data.length >= rawLength) {
    malformed(
      `Invalid BlockResponse: LZ4 data of ${data.length} bytes for raw length ${rawLength} (must be 1 to raw length - 1)`,
    );
  }
}

export function writeBlockRequest(w: Writer, msg: BlockRequest): void {
  w.varUint(msg.id);
  w.string(msg.path);
  w.raw(msg.hash);
  w.varUint(msg.offset);
  w.varUint(msg.length);
  w.bytes(msg.signatures);
}

export function writeBlockResponse(w: Writer, msg: BlockResponse): void {
  w.varUint(msg.id);
  w.u8(STATUSES.indexOf(msg.status));
  w.u8(msg.compression === "lz4" ? 1 : 0);
  w.bytes(msg.bitmap);
  w.varUint(msg.rawLength);
  w.bytes(msg.data);
}

export function readBlockRequest(rd: Reader): BlockRequest {
  const request: BlockRequest = {
    type: "block_request",
    id: rd.varUint("BlockRequest id", MAX_REQUEST_ID),
    path: rd.string("BlockRequest path", MAX_PATH_BYTES),
    hash: rd.raw("BlockRequest hash", HASH_SIZE),
    offset: rd.varUint("BlockRequest offset", MAX_FILE_SIZE),
    length: rd.varUint("BlockRequest length", MAX_CHUNK_SIZE),
    signatures: rd.bytes("BlockRequest signatures", MAX_SIGNATURE_BYTES),
  };
  checkBlockRequest(request);
  return request;
}

export function readBlockResponse(rd: Reader): BlockResponse {
  const id = rd.varUint("BlockResponse id", MAX_REQUEST_ID);
  const statusCode = rd.u8("BlockResponse status");
  const status = STATUSES[statusCode];
  if (status === undefined) {
    malformed(`Invalid BlockResponse status byte ${statusCode}`);
  }
  const compressionCode = rd.u8("BlockResponse compression");
  const compression = COMPRESSIONS[compressionCode];
  if (compression === undefined) {
    malformed(`Invalid BlockResponse compression byte ${compressionCode}`);
  }
  const response: BlockResponse = {
    type: "block_response",
    id,
    status,
    compression,
    bitmap: rd.bytes("BlockResponse bitmap", MAX_BITMAP_BYTES),
    rawLength: rd.varUint("BlockResponse raw length", MAX_CHUNK_SIZE),
    data: rd.bytes("BlockResponse data", MAX_CHUNK_SIZE),
  };
  checkBlockResponse(response);
  return response;
}
