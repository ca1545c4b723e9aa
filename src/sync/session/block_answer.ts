/**
 * One block request answered: the chunk is read and checked exactly as a
 * chunk request's (`chunk_answer.ts`: same path rules, whole indexed
 * chunks only, partials for swarming), then compared block by block with
 * the asker's signatures, and only the blocks that differ are sent, LZ4-
 * compressed under the same rules as a chunk (the policy's per-file
 * memory of what did not compress, the governor's say on this link).
 * @module
 */

import type {
  BlockRequest,
  BlockResponse,
  BufferPool,
  ChunkRequest,
} from "../../protocol/mod.ts";
import {
  compressIfWorthwhile,
  type CompressionPolicy,
  type EncodedChunk,
} from "../../compress/mod.ts";
import { diffBlocks } from "../delta/mod.ts";
import {
  answerChunkRequest,
  type IgnoreCheck,
  type PartialChunks,
} from "./chunk_answer.ts";
import type { IndexedChunks } from "./indexed_chunks.ts";
import type { OpenFiles } from "./open_files.ts";

/** The answer to one block request, as `ChunkAnswer` is to a chunk request. */
export interface BlockAnswer {
  readonly response: BlockResponse;
  readonly changed: boolean;
  readonly refusal?: string;
  readonly fromPartial?: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads the chunk `request` names (see `answerChunkRequest`, whose
 * arguments these are) and answers with the blocks that differ from the
 * request's signatures; never throws. The read buffer goes back to
 * `buffers` at once: the blocks sent are copied out of it.
 */
export function answerBlockRequest(
  folder: string,
  ignore: IgnoreCheck,
  request: BlockRequest,
  files?: OpenFiles,
  policy?: CompressionPolicy,
  compress = true,
  indexed?: IndexedChunks,
  partials?: PartialChunks,
  buffers?: BufferPool,
): BlockAnswer {
  const { id, path, hash, offset, length } = request;
  const asChunk: ChunkRequest = {
    type: "chunk_request",
    id,
    path,
    hash,
    offset,
    length,
  };
  const read = answerChunkRequest(
    folder,
    ignore,
    asChunk,
    files,
    undefined,
    false,
    indexed,
    partials,
    buffers,
  );
  const status = read.response.status;
  const rest = {
    changed: read.changed,
    ...(read.refusal === undefined ? {} : { refusal: read.refusal }),
    ...(read.fromPartial === undefined
      ? {}
      : { fromPartial: read.fromPartial }),
  };
  if (status !== "ok") {
    return {
      response: {
        type: "block_response",
        id,
        status,
        compression: "none",
        bitmap: EMPTY,
        rawLength: 0,
        data: EMPTY,
      },
      ...rest,
    };
  }
  const diff = diffBlocks(read.response.data, request.signatures);
  if (read.readBuffer !== undefined) buffers?.give(read.readBuffer);
  let encoded: EncodedChunk = { compression: "none", bytes: diff.blocks };
  if (
    diff.blocks.length > 0 && compress &&
    (policy === undefined || policy.shouldTry(path))
  ) {
    encoded = compressIfWorthwhile(diff.blocks);
    policy?.record(path, encoded.compression !== "none");
  }
  return {
    response: {
      type: "block_response",
      id,
      status: "ok",
      compression: encoded.compression,
      bitmap: diff.bitmap,
      rawLength: diff.blocks.length,
      data: encoded.bytes,
    },
    ...rest,
  };
}
