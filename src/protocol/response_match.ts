/**
 * The cross-message rule the codec cannot see: a chunk (or block) response
 * must answer the request it claims to, with exactly the bytes asked for.
 */
import { MalformedMessageError } from "./errors.ts";
import { blocksOf, DELTA_BLOCK_SIZE } from "./limits.ts";
import type {
  BlockRequest,
  BlockResponse,
  ChunkRequest,
  ChunkResponse,
} from "./messages.ts";

/**
 * Throws `MalformedMessageError` unless `response` carries `request`'s id
 * and, when ok, a `rawLength` equal to the requested length. A receiver
 * that passes this may decompress into exactly `request.length` bytes.
 */
export function checkResponseMatchesRequest(
  request: ChunkRequest,
  response: ChunkResponse,
): void {
  if (response.id !== request.id) {
    throw new MalformedMessageError(
      `Chunk response id ${response.id} does not match request id ${request.id}`,
    );
  }
  if (response.status === "ok" && response.rawLength !== request.length) {
    throw new MalformedMessageError(
      `Chunk response ${response.id} has ${response.rawLength} bytes, ${request.length} were requested`,
    );
  }
}

/**
 * Throws `MalformedMessageError` unless `response` carries `request`'s id
 * and, when ok, one bit per block of the request (`ceil(blocks / 8)`
 * bytes, the bits past the last block clear) and a `rawLength` equal to
 * the bytes of the blocks it marks (every block `DELTA_BLOCK_SIZE` but a
 * shorter last one). A receiver that passes this may decompress into
 * exactly `rawLength` bytes and cut them into the marked blocks.
 */
export function checkBlockResponseMatchesRequest(
  request: BlockRequest,
  response: BlockResponse,
): void {
  if (response.id !== request.id) {
    throw new MalformedMessageError(
      `Block response id ${response.id} does not match request id ${request.id}`,
    );
  }
  if (response.status !== "ok") return;
  const blocks = blocksOf(request.length);
  const { bitmap } = response;
  if (bitmap.length !== Math.ceil(blocks / 8)) {
    throw new MalformedMessageError(
      `Block response ${response.id} has a bitmap of ${bitmap.length} bytes for ${blocks} blocks`,
    );
  }
  let bytes = 0;
  for (let i = 0; i < bitmap.length * 8; i++) {
    if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) continue;
    if (i >= blocks) {
      throw new MalformedMessageError(
        `Block response ${response.id} marks block ${i} of ${blocks}`,
      );
    }
    bytes += Math.min(DELTA_BLOCK_SIZE, request.length - i * DELTA_BLOCK_SIZE);
  }
  if (bytes !== response.rawLength) {
    throw new MalformedMessageError(
      `Block response ${response.id} has ${response.rawLength} bytes for blocks of ${bytes}`,
    );
  }
}
