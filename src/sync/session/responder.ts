/**
 * Answers a peer's chunk requests from the folder. The path must be valid,
 * not ignored, and name a regular file reached through real directories
 * only (`lstat` at every step; a symlink is never followed). The request
 * must name a whole chunk of the path's current index record (offset,
 * length and hash; see `indexed_chunks.ts`), else the answer is `changed`
 * without reading anything. When the file's `stat` still shows the size
 * and mtime of that record, the bytes are sent as read: the receiver
 * checks every chunk against its hash, and a re-hash here cost the sender
 * one BLAKE3 pass over all it served (~4 s of CPU per GiB on this 2-core
 * VM). Otherwise the bytes must still hash to the requested BLAKE3, else
 * the answer is `changed` (and the owner is told, so it rescans the path:
 * the peer was working from an outdated record). A write that keeps size
 * and mtime (the same millisecond) slips past the stat; the receiver's
 * check then fails that chunk, its pull is retried, and the write's own
 * watch event has the owner rescan. Data is LZ4-compressed when that pays
 * (never to a loopback peer). Reading
 * pauses while the connection is behind; a peer that queues more requests
 * than allowed is cut off. A chunk of a file this device is itself still
 * receiving is served from its `.part` when it was announced and is
 * written in full (`PartialChunks`; swarming).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  type BlockRequest,
  type BlockResponse,
  BufferPool,
  type ChunkRequest,
  type ChunkResponse,
} from "../../protocol/mod.ts";
import {
  CompressionGovernor,
  CompressionPolicy,
  type GovernorOptions,
} from "../../compress/mod.ts";
import type { IndexedChunks } from "./indexed_chunks.ts";
import { OpenFiles } from "./open_files.ts";
import {
  answerChunkRequest,
  type ChunkAnswer,
  type IgnoreCheck,
  type PartialChunks,
} from "./chunk_answer.ts";
import { answerBlockRequest, type BlockAnswer } from "./block_answer.ts";

const log = getLogger(["dsync", "sync", "responder"]);

/** A peer queued more chunk requests than a responder holds. */
export class TooManyRequestsError extends Error {
  constructor(limit: number) {
    super(`Peer has more than ${limit} chunk requests queued`);
    this.name = "TooManyRequestsError";
  }
}

/** Where a responder's answers go: the peer's session. */
export interface AnswerLink {
  /** Sends one answer (resolves once written). */
  send(response: ChunkResponse | BlockResponse): Promise<void>;
}

/** Told of files whose content changed while a peer fetched them (the engine rescans them soon). */
export interface ChangedFiles {
  add(path: string): void;
}

/** The folder's pause, as a responder waits on it. */
export interface PauseGate {
  /** While paused, a promise of the resume; else undefined. */
  whilePaused(): Promise<void> | undefined;
}

/** Options of {@linkcode ChunkResponder}. */
export interface ChunkResponderOptions {
  readonly folder: string;
  readonly ignore: IgnoreCheck;
  readonly to: AnswerLink;
  /** Only whole chunks of the current index are served (see `indexed_chunks.ts`). */
  readonly indexed?: IndexedChunks;
  /** Chunks of files still being received, served too (swarming). */
  readonly partials?: PartialChunks;
  /** Told about a path whose content no longer matches what the peer asked for. */
  readonly changed?: ChangedFiles;
  /**
   * Answer bytes handed to `send` and not yet written, at most (default
   * 8 MiB): reading stops while the connection is that far behind.
   */
  readonly maxSendingBytes?: number;
  /** Requests queued at most before the peer is cut off (default 8192). */
  readonly maxQueued?: number;
  /** Tuning of the compression governor (tests). */
  readonly governor?: GovernorOptions;
  /**
   * The peer is on this machine (see `isLoopbackPeer`): nothing is
   * compressed, whatever the governor would measure.
   */
  readonly loopback?: boolean;
  /** Answering waits while it is paused. */
  readonly pause?: PauseGate;
  /**
   * True while a scan of this device's folder runs: its hashing competes
   * for the CPU, so the governor does not measure then.
   */
  readonly scanning?: () => boolean;
}

/**
 * Longest stretch of answering without a turn of the event loop. The loop
 * mostly waits on the sending cap, which lets I/O run; a timer turn costs
 * 1-2 ms (timers have millisecond granularity), so yielding every few
 * answers instead (16 at first) left the sender idle a third of the time.
 */
const MAX_BUSY_MS = 20;
/** Read handles are let go after this long without a request. */
const FILES_IDLE_MS = 1_000;
/** Refused requests logged as warnings per peer; later ones at debug. */
const REFUSALS_LOGGED = 20;

/**
 * Serves one peer's chunk requests in arrival order. Answers are not
 * awaited one by one (that would make throughput the number of answers in
 * flight divided by the write latency of a busy event loop); instead
 * reading pauses while too many answer bytes wait to be written.
 */
export class ChunkResponder {
  readonly #opts: ChunkResponderOptions;
  readonly #maxSending: number;
  readonly #maxQueued: number;
  readonly #queue: (ChunkRequest | BlockRequest)[] = [];
  #head = 0;
  #sending = 0;
  #sendingCount = 0;
  #wakeSent: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #refusals = 0;
  /** Handles kept while requests keep coming; closed once none came for a while. */
  readonly #files = new OpenFiles({ idleMs: FILES_IDLE_MS });
  readonly #policy = new CompressionPolicy();
  /** Chunks are read into these, used again once their answer is written. */
  readonly #buffers: BufferPool;
  /** Whether compressing pays on this peer's link, measured. */
  readonly #governor: CompressionGovernor;
  #filesTimer: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` when answering last stopped. */
  #idleSince = 0;
  /** Bytes of chunk data sent (as on the wire). */
  bytesSent = 0;
  /** Of those, bytes of chunks of files still being received here. */
  partialBytesSent = 0;

  constructor(options: ChunkResponderOptions) {
    this.#opts = options;
    this.#maxSending = Math.max(1, options.maxSendingBytes ?? 8 << 20);
    this.#maxQueued = Math.max(1, options.maxQueued ?? 8192);
    this.#governor = new CompressionGovernor(options.governor);
    this.#buffers = new BufferPool(this.#maxSending);
  }

  /** Bytes of read buffers waiting to be used again. */
  get keptReadBytes(): number {
    return this.#buffers.keptBytes;
  }

  /** Queues a request. Throws {@linkcode TooManyRequestsError} when the queue is full. */
  handle(request: ChunkRequest | BlockRequest): void {
    if (this.#closed) return;
    if (this.#queue.length - this.#head >= this.#maxQueued) {
      throw new TooManyRequestsError(this.#maxQueued);
    }
    this.#queue.push(request);
    this.#kick();
  }

  #kick(): void {
    if (this.#running !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      this.#idleSince = performance.now();
      // The next request often comes a moment later: keep the handles
      // a little, then let them go (nothing held open while idle).
      if (this.#files.size > 0 && !this.#closed) {
        this.#armFilesTimer(FILES_IDLE_MS);
      }
      // A request may have come after the loop's last look at the queue.
      if (!this.#closed && this.#head < this.#queue.length) this.#kick();
    });
  }

  /**
   * Lets the kept handles go once no answering ran for `FILES_IDLE_MS`.
   * One timer, armed when none is and looking again when it fires: a
   * timer set and cleared each time the queue ran dry (thousands of times
   * per GiB) was 0.28 s of a sender's 22 s profile.
   */
  #armFilesTimer(ms: number): void {
    if (this.#filesTimer !== undefined) return;
    const timer = setTimeout(() => {
      this.#filesTimer = undefined;
      if (this.#closed || this.#files.size === 0) return;
      const idle = performance.now() - this.#idleSince;
      if (this.#running !== undefined) this.#armFilesTimer(FILES_IDLE_MS);
      else if (idle < FILES_IDLE_MS) this.#armFilesTimer(FILES_IDLE_MS - idle);
      else this.#files.clear();
    }, ms);
    Deno.unrefTimer(timer);
    this.#filesTimer = timer;
  }

  /** Drops queued requests and waits for the answers being written. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    this.#head = 0;
    this.#wakeSent?.();
    await this.#running;
    if (this.#filesTimer !== undefined) clearTimeout(this.#filesTimer);
    this.#filesTimer = undefined;
    this.#files.clear();
    while (this.#sendingCount > 0) {
      await new Promise<void>((resolve) => (this.#wakeSent = resolve));
    }
  }

  async #drain(): Promise<void> {
    let busySince = performance.now();
    while (!this.#closed && this.#head < this.#queue.length) {
      const paused = this.#opts.pause?.whilePaused();
      if (paused !== undefined) {
        await paused;
        busySince = performance.now();
        continue;
      }
      if (this.#sending >= this.#maxSending) {
        await new Promise<void>((resolve) => (this.#wakeSent = resolve));
        busySince = performance.now();
        continue;
      }
      const request = this.#queue[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      const answer = this.#answer(request);
      if (answer.fromPartial) {
        this.partialBytesSent += answer.response.data.length;
      }
      if (answer.response.status === "ok") {
        this.#governor.answered(
          answer.response.rawLength,
          this.#opts.scanning?.() ?? false,
        );
      }
      if (answer.changed) this.#opts.changed?.add(request.path);
      if (answer.refusal !== undefined) this.#logRefusal(request, answer);
      this.#send(
        answer.response,
        "readBuffer" in answer ? answer.readBuffer : undefined,
      );
      if (performance.now() - busySince >= MAX_BUSY_MS) {
        // Let the connection read and write.
        await new Promise((resolve) => setTimeout(resolve, 0));
        busySince = performance.now();
      }
    }
  }

  /** Reads, checks and encodes the answer to `request` (never throws). */
  #answer(request: ChunkRequest | BlockRequest): ChunkAnswer | BlockAnswer {
    const o = this.#opts;
    const compress = !o.loopback && this.#governor.compressing;
    if (request.type === "block_request") {
      return answerBlockRequest(
        o.folder,
        o.ignore,
        request,
        this.#files,
        this.#policy,
        compress,
        o.indexed,
        o.partials,
        this.#buffers,
      );
    }
    return answerChunkRequest(
      o.folder,
      o.ignore,
      request,
      this.#files,
      this.#policy,
      compress,
      o.indexed,
      o.partials,
      this.#buffers,
    );
  }

  #logRefusal(
    request: ChunkRequest | BlockRequest,
    answer: ChunkAnswer | BlockAnswer,
  ): void {
    const n = ++this.#refusals;
    const fields = {
      path: request.path,
      offset: request.offset,
      reason: answer.refusal,
    };
    if (n <= REFUSALS_LOGGED) {
      log.warn(
        "Refused a peer's chunk request for {path}@{offset}: {reason}",
        fields,
      );
      if (n === REFUSALS_LOGGED) {
        log.warn("Further refused chunk requests of this peer are not logged");
      }
    } else {
      log.debug(
        "Refused a peer's chunk request for {path}@{offset}: {reason}",
        fields,
      );
    }
  }

  /** Sends `response`; `readBuffer` goes back to the pool once it is written. */
  #send(
    response: ChunkResponse | BlockResponse,
    readBuffer: Uint8Array | undefined,
  ): void {
    const size = response.data.length + 16;
    this.#sending += size;
    this.#sendingCount++;
    this.bytesSent += response.data.length;
    this.#opts.to.send(response).catch(() => {
      // The connection is gone; the pool reports it.
    }).finally(() => {
      if (readBuffer !== undefined) this.#buffers.give(readBuffer);
      this.#sending -= size;
      this.#sendingCount--;
      const wake = this.#wakeSent;
      this.#wakeSent = undefined;
      wake?.();
    });
  }
}
