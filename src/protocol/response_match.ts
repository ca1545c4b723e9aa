/**
 * The cross-message rule the codec cannot see: a chunk response must answer
 * the request it claims to, with exactly the bytes asked for.
 */
import { MalformedMessageError } from "./errors.ts";
import type { ChunkRequest, ChunkResponse } from "./messages.ts";

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
