/**
 * Chunk requests to one peer, pipelined: many requests in flight at once,
 * bounded by count and bytes (callers beyond the bounds wait their turn,
 * first come first served). Each answer is matched to its request by id,
 * decompressed and checked against the requested BLAKE3 before the caller
 * sees a byte. With `hashOffThread` (the node passes its hasher pool's
 * `hashOwnedBytes`), chunks from {@linkcode OFF_THREAD_MIN} bytes are hashed on
 * a worker, so the thread that decrypts goes on with the next answer while
 * a worker checks this one (a receiver then uses two cores); the request
 * is answered once the check is done, and a mismatch is reported to
 * `misbehaved` (the session closes the connection), as an inline one is
 * thrown. The answers' own buffers go to the worker and come back (each
 * answer is a message of its own, which the channel gave away): copying
 * them into one buffer for the trip cost a copy of every byte received.
 * @module
 */

import { blake3, sameBytes } from "../../index/mod.ts";
import {
  checkResponseMatchesRequest,
  type ChunkRequest,
  type ChunkResponse,
  MAX_CHUNK_SIZE,
  receivedMessages,
} from "../../protocol/mod.ts";
import { decompressChunk } from "../../compress/mod.ts";
import { answerOrAbort } from "./answer_or_abort.ts";
import { InFlight } from "./in_flight.ts";

/** The peer answered that it cannot serve the chunk (`changed`, `not_found`, `refused`). */
export class ChunkUnavailableError extends Error {
  readonly status: ChunkResponse["status"];
  constructor(path: string, offset: number, status: ChunkResponse["status"]) {
    super(`Peer cannot serve "${path}"@${offset}: ${status}`);
    this.name = "ChunkUnavailableError";
    this.status = status;
  }
}

/** The peer answered with bytes that do not hash to what was asked: it is misbehaving. */
export class ChunkHashMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChunkHashMismatchError";
  }
}

function mismatch(request: ChunkRequest): ChunkHashMismatchError {
  return new ChunkHashMismatchError(
    `Chunk "${request.path}"@${request.offset} (${request.length} bytes) does not have the requested BLAKE3`,
  );
}

/** A response whose id matches no request in flight. */
export class UnsolicitedResponseError extends Error {
  constructor(id: number) {
    super(`Chunk response ${id} answers no request in flight`);
    this.name = "UnsolicitedResponseError";
  }
}

/** The connection to the peer ended before the answer came. */
export class PeerGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PeerGoneError";
  }
}

/** Options of {@linkcode ChunkRequester}. */
export interface ChunkRequesterOptions {
  /** Sends one request (resolves once written). */
  readonly send: (request: ChunkRequest) => Promise<void>;
  /**
   * Most requested bytes in flight (default 4 MiB: more bought no speed on
   * loopback, where it is the most, and cost memory on both sides).
   */
  readonly maxBytes?: number | undefined;
  /** Most requests in flight (default 1024). */
  readonly maxRequests?: number;
  /**
   * BLAKE3 of each piece, end to end, on another thread that the pieces'
   * buffers are handed to (`HasherPool.hashOwnedBytes`); `pieces` are the
   * same bytes, viewed in the buffers come back.
   */
  readonly hashOffThread?: HashOffThread | undefined;
  /** Told of a peer's protocol violation found after `handleResponse` returned. */
  readonly misbehaved?: (error: Error) => void;
}

/** See {@linkcode ChunkRequesterOptions.hashOffThread}. */
export type HashOffThread = (
  pieces: readonly Uint8Array[],
) => Promise<{ digest: Uint8Array; pieces: readonly Uint8Array[] }>;

/**
 * Chunks of at least this many bytes are hashed off the thread (with
 * `hashOffThread`); smaller ones cost less to hash than the round trip.
 */
export const OFF_THREAD_MIN = 16 * 1024;

/**
 * Chunks are sent to be hashed in batches of about this many bytes: each
 * batch is a round trip between threads (~150 µs of CPU, as much as
 * hashing 100 KiB), which per 64 KiB chunk cost more than it saved. A
 * batch goes sooner when no other answer is awaited, or after
 * {@linkcode OFF_THREAD_WAIT_MS}.
 */
export const OFF_THREAD_BATCH = 1 << 20;

/** A batch not yet full is sent after this long at most. */
export const OFF_THREAD_WAIT_MS = 2;

interface Unchecked {
  readonly id: number;
  readonly request: ChunkRequest;
  readonly data: Uint8Array;
}

interface Pending {
  readonly request: ChunkRequest;
  resolve(data: Uint8Array): void;
  reject(error: Error): void;
}

interface Waiter {
  readonly length: number;
  resolve(): void;
  reject(error: Error): void;
}

/** Requests in flight to one peer. */
export class ChunkRequester {
  readonly #send: (request: ChunkRequest) => Promise<void>;
  readonly #maxBytes: number;
  readonly #maxRequests: number;
  readonly #hashOffThread: HashOffThread | undefined;
  /** Answers waiting to be sent to be hashed, and their bytes. */
  #batch: Unchecked[] = [];
  #batchBytes = 0;
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** Answers sent to be hashed and not yet back. */
  #checking = 0;
  readonly #misbehaved: (error: Error) => void;
  readonly #pending = new InFlight<Pending>();
  readonly #waiters: Waiter[] = [];
  /** Bytes and requests reserved: in flight or about to be sent. */
  #bytes = 0;
  #count = 0;
  /** Bytes of the waiters (summed on change: read for every chunk pick). */
  #waitingBytes = 0;
  #closed: Error | undefined;
  /** Bytes received in answers, as they came on the wire (maybe compressed). */
  wireBytes = 0;
  /** Raw bytes delivered to callers. */
  rawBytes = 0;

  constructor(options: ChunkRequesterOptions) {
    this.#send = options.send;
    this.#maxBytes = Math.max(MAX_CHUNK_SIZE, options.maxBytes ?? 4 << 20);
    this.#maxRequests = Math.max(1, options.maxRequests ?? 1024);
    this.#hashOffThread = options.hashOffThread;
    this.#misbehaved = options.misbehaved ?? (() => {});
  }

  /** Requested bytes not yet answered (plus those waiting for room). */
  get inFlightBytes(): number {
    return this.#bytes + this.#waitingBytes;
  }

  /** Requests not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** False once closed. */
  get open(): boolean {
    return this.#closed === undefined;
  }

  /**
   * The `length` bytes at `offset` of the peer's `path`, verified to hash
   * to `hash`. Rejects with {@linkcode ChunkUnavailableError},
   * {@linkcode ChunkHashMismatchError}, {@linkcode PeerGoneError}, or the
   * signal's reason.
   */
  async request(
    path: string,
    hash: Uint8Array,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    signal?.throwIfAborted();
    await this.#reserve(length, signal);
    if (this.#closed !== undefined) {
      this.#bytes -= length;
      this.#count--;
      throw this.#closed;
    }
    const id = this.#pending.freeId();
    const request: ChunkRequest = {
      type: "chunk_request",
      id,
      path,
      hash,
      offset,
      length,
    };
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { request, resolve, reject });
    });
    this.#send(request).catch((err) => {
      this.#settle(id)?.reject(
        new PeerGoneError(`Cannot send chunk request: ${err}`, { cause: err }),
      );
    });
    return await answerOrAbort(answer, signal);
  }

  /**
   * Takes an answer. Throws (a `ProtocolError` from the match check,
   * {@linkcode UnsolicitedResponseError}, {@linkcode ChunkHashMismatchError}
   * or a `DecompressionError`) when the peer broke the protocol; the caller
   * closes the connection. A chunk hashed off the thread is answered later,
   * its mismatch told to `misbehaved`.
   */
  handleResponse(response: ChunkResponse): void {
    const pending = this.#pending.get(response.id);
    if (pending === undefined) throw new UnsolicitedResponseError(response.id);
    const { request } = pending;
    try {
      checkResponseMatchesRequest(request, response);
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
    let data: Uint8Array;
    try {
      if (response.compression === "lz4") {
        // Into a pooled buffer that the puller gives back like any
        // received chunk; the compressed bytes are spent at once.
        data = decompressChunk(
          response.data,
          response.rawLength,
          MAX_CHUNK_SIZE,
          () => receivedMessages.take(response.rawLength),
        );
        receivedMessages.give(response.data);
      } else data = response.data;
      if (
        this.#hashOffThread !== undefined && data.length >= OFF_THREAD_MIN
      ) {
        this.#checkLater({ id: response.id, request, data });
        return;
      }
      if (!sameBytes(blake3(data), request.hash)) throw mismatch(request);
    } catch (err) {
      this.#settle(response.id)?.reject(err as Error);
      throw err;
    }
    this.rawBytes += data.length;
    this.#settle(response.id)?.resolve(data);
  }

  /**
   * Queues `u` to be hashed on another thread; sends the batch when it is
   * full, or when every answer awaited is in it, else soon.
   */
  #checkLater(u: Unchecked): void {
    this.#batch.push(u);
    this.#batchBytes += u.data.length;
    if (
      this.#batchBytes >= OFF_THREAD_BATCH ||
      this.#pending.size - this.#checking === this.#batch.length
    ) {
      this.#sendBatch();
    } else if (this.#batchTimer === undefined) {
      this.#batchTimer = setTimeout(
        () => this.#sendBatch(),
        OFF_THREAD_WAIT_MS,
      );
    }
  }

  /**
   * Sends the batch to be hashed. Each request is answered with its data
   * once the hash shows it is what was asked; else failed, and the peer
   * reported to `misbehaved`. The requests stay in flight (their bytes
   * counted) until then. Closed meanwhile, they have failed already and
   * the outcome is dropped.
   */
  #sendBatch(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#checking += batch.length;
    const away = batch.map((u) => u.data.buffer);
    this.#hashOffThread!(batch.map((u) => u.data)).then((back) => {
      this.#checking -= batch.length;
      let bad: Error | undefined;
      for (const [i, u] of batch.entries()) {
        const digest = back.digest.subarray(i * 32, i * 32 + 32);
        const data = back.pieces[i]!;
        // A pooled buffer stays the pool's across the trip.
        if (data.buffer !== away[i]) {
          receivedMessages.adopt(away[i]!, data.buffer);
        }
        const pending = this.#settle(u.id);
        if (pending === undefined) {
          receivedMessages.give(data);
          continue;
        }
        if (sameBytes(digest, u.request.hash)) {
          this.rawBytes += data.length;
          pending.resolve(data);
        } else {
          const err = mismatch(u.request);
          pending.reject(err);
          bad ??= err;
        }
      }
      if (bad !== undefined) this.#misbehaved(bad);
    }, (err) => {
      this.#checking -= batch.length;
      // The hasher failed or closed (shutdown): not the peer's fault.
      const e = err instanceof Error ? err : new Error(String(err));
      for (const u of batch) this.#settle(u.id)?.reject(e);
    });
  }

  /** Fails every request in flight and every waiter with `error`; later requests fail too. */
  close(error: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#batch = [];
    this.#batchBytes = 0;
    for (const id of this.#pending.ids()) this.#settle(id)?.reject(error);
    this.#waitingBytes = 0;
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.take(id);
    if (pending === undefined) return undefined;
    this.#bytes -= pending.request.length;
    this.#count--;
    this.#wake();
    return pending;
  }

  #fits(length: number): boolean {
    return this.#count < this.#maxRequests &&
      (this.#bytes === 0 || this.#bytes + length <= this.#maxBytes);
  }

  #reserve(length: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (this.#waiters.length === 0 && this.#fits(length)) {
      this.#bytes += length;
      this.#count++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        length,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) {
          this.#waiters.splice(at, 1);
          this.#waitingBytes -= length;
        }
        reject(signal!.reason);
        this.#wake();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#waitingBytes += length;
    });
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.length)) {
      const w = this.#waiters.shift()!;
      this.#waitingBytes -= w.length;
      this.#bytes += w.length;
      this.#count++;
      w.resolve();
    }
  }
}
