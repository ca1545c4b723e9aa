/**
 * Block requests to one peer (a changed chunk as the blocks that differ
 * from old bytes we hold: `../delta/mod.ts`). Each answer is matched to its
 * request by id and its shape checked against it (`ProtocolError`: the
 * caller closes the connection), decompressed, assembled over the old
 * bytes and verified whole against the chunk's BLAKE3 before the caller
 * sees a byte. A chunk that does not assemble to its hash is
 * {@linkcode BlockDeltaMismatchError} (a signature collision, or a source
 * that lies): the caller asks for the whole chunk, which is checked as any
 * chunk is. Bounded by count: beyond {@linkcode MAX_BLOCK_REQUESTS} in
 * flight, {@linkcode BlockRequestsBusyError} (ask whole instead).
 * @module
 */

import {
  type BlockRequest,
  type BlockResponse,
  checkBlockResponseMatchesRequest,
  MAX_CHUNK_SIZE,
} from "../../protocol/mod.ts";
import { decompressChunk } from "../../compress/mod.ts";
import { assembleVerified, blockSignatures } from "../delta/mod.ts";
import {
  ChunkUnavailableError,
  PeerGoneError,
  UnsolicitedResponseError,
} from "./chunk_requests.ts";
import { answerOrAbort } from "./answer_or_abort.ts";
import { InFlight } from "./in_flight.ts";

/**
 * Most block requests in flight to one peer: each holds its old bytes (up
 * to 256 KiB) until answered, so at most 16 MiB; a file's fetch window
 * (1 MiB by default) keeps far fewer in flight.
 */
export const MAX_BLOCK_REQUESTS = 64;

/** Too many block requests in flight: ask for the whole chunk. */
export class BlockRequestsBusyError extends Error {
  constructor() {
    super(`More than ${MAX_BLOCK_REQUESTS} block requests in flight`);
    this.name = "BlockRequestsBusyError";
  }
}

interface Pending {
  readonly request: BlockRequest;
  readonly base: Uint8Array;
  resolve(data: Uint8Array): void;
  reject(error: Error): void;
}

/** Block requests in flight to one peer. */
export class BlockRequester {
  readonly #send: (request: BlockRequest) => Promise<void>;
  readonly #pending = new InFlight<Pending>();
  #bytes = 0;
  #closed: Error | undefined;
  /** Bytes of block data received, as on the wire (maybe compressed). */
  wireBytes = 0;
  /** Bytes of chunks delivered whole (assembled and verified). */
  rawBytes = 0;

  constructor(send: (request: BlockRequest) => Promise<void>) {
    this.#send = send;
  }

  /** Chunk bytes asked for as blocks and not yet answered. */
  get inFlightBytes(): number {
    return this.#bytes;
  }

  /**
   * The `length` bytes at `offset` of the peer's `path`, asked for as the
   * blocks that differ from `base` (our old bytes there, `length` long),
   * verified to hash to `hash`. Rejects with
   * {@linkcode BlockDeltaMismatchError}, {@linkcode BlockRequestsBusyError},
   * `ChunkUnavailableError`, `PeerGoneError`, a protocol error of the
   * answer, or the signal's reason.
   */
  async request(
    path: string,
    hash: Uint8Array,
    offset: number,
    base: Uint8Array,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    signal?.throwIfAborted();
    if (this.#closed !== undefined) throw this.#closed;
    if (this.#pending.size >= MAX_BLOCK_REQUESTS) {
      throw new BlockRequestsBusyError();
    }
    const id = this.#pending.freeId();
    const request: BlockRequest = {
      type: "block_request",
      id,
      path,
      hash,
      offset,
      length: base.length,
      signatures: blockSignatures(base),
    };
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { request, base, resolve, reject });
    });
    this.#bytes += base.length;
    this.#send(request).catch((err) => {
      this.#settle(id)?.reject(
        new PeerGoneError(`Cannot send block request: ${err}`, { cause: err }),
      );
    });
    return await answerOrAbort(answer, signal);
  }

  /**
   * Takes an answer. Throws ({@linkcode UnsolicitedResponseError}, a
   * `ProtocolError` from the match check, a `DecompressionError`) when the
   * peer broke the protocol; the caller closes the connection. A chunk
   * that does not assemble to its hash fails its request only.
   */
  handleResponse(response: BlockResponse): void {
    const pending = this.#pending.get(response.id);
    if (pending === undefined) throw new UnsolicitedResponseError(response.id);
    const { request, base } = pending;
    try {
      checkBlockResponseMatchesRequest(request, response);
    } catch (err) {
      this.#settle(response.id)?.reject(err as Error);
      throw err;
    }
    this.wireBytes += response.data.length;
    if (response.status !== "ok") {
      this.#settle(response.id)?.reject(
        new ChunkUnavailableError(
          request.path,
          request.offset,
          response.status,
        ),
      );
      return;
    }
    let blocks: Uint8Array;
    try {
      blocks = response.compression === "lz4"
        ? decompressChunk(response.data, response.rawLength, MAX_CHUNK_SIZE)
        : response.data;
    } catch (err) {
      this.#settle(response.id)?.reject(err as Error);
      throw err;
    }
    const settled = this.#settle(response.id);
    try {
      const chunk = assembleVerified(
        base,
        response.bitmap,
        blocks,
        request.hash,
        request,
      );
      this.rawBytes += chunk.length;
      settled?.resolve(chunk);
    } catch (err) {
      settled?.reject(err as Error);
    }
  }

  /** Fails every request in flight with `error`; later requests fail too. */
  close(error: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const id of this.#pending.ids()) this.#settle(id)?.reject(error);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.take(id);
    if (pending === undefined) return undefined;
    this.#bytes -= pending.request.length;
    return pending;
  }
}
