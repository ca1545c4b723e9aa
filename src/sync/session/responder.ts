/**
 * Answers a peer's chunk requests from the folder. The path must be valid,
 * not ignored, and name a regular file reached through real directories
 * only (`lstat` at every step; a symlink is never followed). The request
 * must name a whole chunk of the path's current index record (offset,
 * length and hash; see `indexed_chunks.ts`), else the answer is `changed`
 * without reading anything. The bytes read
 * must still hash to the requested BLAKE3, else the answer is `changed`
 * (and the owner is told, so it rescans the path: the peer was working from
 * an outdated record). Data is LZ4-compressed when that pays. Reading
 * pauses while the connection is behind; a peer that queues more requests
 * than allowed is cut off. A chunk of a file this device is itself still
 * receiving is served from its `.part` when it was announced and is
 * written in full (`PartialChunks`; swarming).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  blake3,
  isInStateDir,
  sameBytes,
  STATE_DIR,
  toOsPath,
} from "../../index/mod.ts";
import {
  type ChunkRequest,
  type ChunkResponse,
  wirePathProblem,
} from "../../protocol/mod.ts";
import {
  compressIfWorthwhile,
  CompressionGovernor,
  CompressionPolicy,
  type EncodedChunk,
  type GovernorOptions,
} from "../../compress/mod.ts";
import type { IndexedChunks } from "./indexed_chunks.ts";
import { OpenFiles } from "./open_files.ts";

const log = getLogger(["dsync", "sync", "responder"]);

/** A peer queued more chunk requests than a responder holds. */
export class TooManyRequestsError extends Error {
  constructor(limit: number) {
    super(`Peer has more than ${limit} chunk requests queued`);
    this.name = "TooManyRequestsError";
  }
}

/** What a responder needs to know of the ignore rules. */
export interface IgnoreCheck {
  ignores(relPath: string, isDir: boolean): boolean;
}

/** The answer to one request, and whether the file changed under the peer. */
export interface ChunkAnswer {
  readonly response: ChunkResponse;
  /** True when the path holds other bytes than the peer thinks: rescan it. */
  readonly changed: boolean;
  /** Why the request was refused (status `refused` only), for the log. */
  readonly refusal?: string;
  /** Served from the `.part` of a file still being received. */
  readonly fromPartial?: boolean;
}

/** Chunks of files this device is still receiving (see `../swarm/mod.ts`). */
export interface PartialChunks {
  /** The verified bytes of that whole chunk of the version being pulled, if held. */
  read(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): Uint8Array | undefined;
}

/** `Deno.lstatSync(os)`, or undefined when nothing is there. */
function lstatOrUndefined(os: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(os);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * The OS path and stat of canonical `relPath` under `folder`, walking one
 * component at a time without following links; a component stored NFC may
 * be NFD on disk. Undefined when missing or when a parent is not a real
 * directory. Synchronous: see {@linkcode answerChunkRequest}.
 */
export function locateEntry(
  folder: string,
  relPath: string,
): { os: string; info: Deno.FileInfo } | undefined {
  let dir = folder;
  const parts = relPath.split("/");
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    let os = toOsPath(dir, name);
    let info = lstatOrUndefined(os);
    if (info === undefined && name.normalize("NFD") !== name) {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.name !== name && entry.name.normalize("NFC") === name) {
          os = toOsPath(dir, entry.name);
          info = lstatOrUndefined(os);
          break;
        }
      }
    }
    if (info === undefined) return undefined;
    if (i === parts.length - 1) return { os, info };
    if (!info.isDirectory || info.isSymlink) return undefined;
    dir = os;
  }
  return undefined;
}

/** Why a peer may not read `path`, or undefined when it may. */
function refusalOf(ignore: IgnoreCheck, path: string): string | undefined {
  const problem = wirePathProblem(path, "posix");
  if (problem !== null) return `invalid path (${problem})`;
  if (isInStateDir(path)) {
    return `inside ${STATE_DIR}/`;
  }
  if (ignore.ignores(path, false)) return "ignored here";
  return undefined;
}

function statusOnly(
  id: number,
  status: ChunkResponse["status"],
): ChunkResponse {
  return {
    type: "chunk_response",
    id,
    status,
    compression: "none",
    data: new Uint8Array(0),
    rawLength: 0,
  };
}

function readFully(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Uint8Array | undefined {
  file.seekSync(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null) return undefined;
    got += n;
  }
  return buf;
}

/**
 * The requested bytes if they still hash as asked, through a kept handle
 * when there is one, else after the safe walk (then keeping the handle).
 * `not_found` and `changed` as in {@linkcode answerChunkRequest}.
 */
function readChecked(
  folder: string,
  request: ChunkRequest,
  files: OpenFiles | undefined,
): Uint8Array | "not_found" | "changed" {
  const { path, offset, length, hash } = request;
  const kept = files?.get(path);
  if (kept !== undefined) {
    const data = readFully(kept, offset, length);
    if (data !== undefined && sameBytes(blake3(data), hash)) return data;
    // Renamed, replaced or rewritten since it was opened: look again.
    files!.evict(path);
  }
  const found = locateEntry(folder, path);
  if (found === undefined || !found.info.isFile) return "not_found";
  if (found.info.size < offset + length) return "changed";
  const file = Deno.openSync(found.os, { read: true });
  let data: Uint8Array | undefined;
  try {
    data = readFully(file, offset, length);
  } finally {
    if (files === undefined) file.close();
    else files.put(path, file);
  }
  if (data === undefined || !sameBytes(blake3(data), hash)) return "changed";
  return data;
}

/**
 * Reads and checks the chunk `request` asks for; never throws. The file
 * system calls are synchronous: a chunk is at most 256 KiB, mostly in the
 * page cache, and half a dozen asynchronous calls per chunk each wait for
 * a turn of a busy event loop, which measured several times slower.
 * With `files`, the handle is kept for the next request of the same path;
 * with `policy`, chunks of a file that did not compress are sent untried;
 * with `compress` false, none is tried; with `indexed`, only whole
 * indexed chunks are read (the node always passes it).
 */
export function answerChunkRequest(
  folder: string,
  ignore: IgnoreCheck,
  request: ChunkRequest,
  files?: OpenFiles,
  policy?: CompressionPolicy,
  compress = true,
  indexed?: IndexedChunks,
  partials?: PartialChunks,
): ChunkAnswer {
  const { id, path, offset, length } = request;
  const refusal = refusalOf(ignore, path);
  if (refusal !== undefined) {
    return { response: statusOnly(id, "refused"), changed: false, refusal };
  }
  if (
    indexed !== undefined &&
    !indexed.holds(path, offset, length, request.hash)
  ) {
    // Not a chunk of our index (an outdated record, or a guess): nothing
    // is read, and nothing needs rescanning; unless it is a chunk of the
    // version we are receiving, already in its `.part`.
    const held = partials?.read(path, offset, length, request.hash);
    if (held === undefined) {
      return { response: statusOnly(id, "changed"), changed: false };
    }
    return {
      response: okResponse(request, held, policy, compress),
      changed: false,
      fromPartial: true,
    };
  }
  try {
    const data = readChecked(folder, request, files);
    if (data === "not_found") {
      return { response: statusOnly(id, "not_found"), changed: false };
    }
    if (data === "changed") {
      return { response: statusOnly(id, "changed"), changed: true };
    }
    return {
      response: okResponse(request, data, policy, compress),
      changed: false,
    };
  } catch (err) {
    log.debug("Cannot serve {path}@{offset}: {error}", {
      path,
      offset,
      error: String(err),
    });
    return { response: statusOnly(id, "not_found"), changed: false };
  }
}

/** The answer carrying `data`, LZ4-compressed when that pays. */
function okResponse(
  request: ChunkRequest,
  data: Uint8Array,
  policy: CompressionPolicy | undefined,
  compress: boolean,
): ChunkResponse {
  const { id, path, length } = request;
  let encoded: EncodedChunk = { compression: "none", bytes: data };
  if (compress && (policy === undefined || policy.shouldTry(path))) {
    encoded = compressIfWorthwhile(data);
    policy?.record(path, encoded.compression !== "none");
  }
  return {
    type: "chunk_response",
    id,
    status: "ok",
    compression: encoded.compression,
    data: encoded.bytes,
    rawLength: length,
  };
}

/** Options of {@linkcode ChunkResponder}. */
export interface ChunkResponderOptions {
  readonly folder: string;
  readonly ignore: IgnoreCheck;
  /** Sends one answer (resolves once written). */
  readonly send: (response: ChunkResponse) => Promise<void>;
  /** Only whole chunks of the current index are served (see `indexed_chunks.ts`). */
  readonly indexed?: IndexedChunks;
  /** Chunks of files still being received, served too (swarming). */
  readonly partials?: PartialChunks;
  /** Told about a path whose content no longer matches what the peer asked for. */
  readonly onChanged?: (path: string) => void;
  /**
   * Answer bytes handed to `send` and not yet written, at most (default
   * 8 MiB): reading stops while the connection is that far behind.
   */
  readonly maxSendingBytes?: number;
  /** Requests queued at most before the peer is cut off (default 8192). */
  readonly maxQueued?: number;
  /** Tuning of the compression governor (tests). */
  readonly governor?: GovernorOptions;
  /** While paused, a promise of the resume: answering waits for it. */
  readonly whilePaused?: () => Promise<void> | undefined;
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
  readonly #queue: ChunkRequest[] = [];
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
  /** Whether compressing pays on this peer's link, measured. */
  readonly #governor: CompressionGovernor;
  #filesTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes of chunk data sent (as on the wire). */
  bytesSent = 0;
  /** Of those, bytes of chunks of files still being received here. */
  partialBytesSent = 0;

  constructor(options: ChunkResponderOptions) {
    this.#opts = options;
    this.#maxSending = Math.max(1, options.maxSendingBytes ?? 8 << 20);
    this.#maxQueued = Math.max(1, options.maxQueued ?? 8192);
    this.#governor = new CompressionGovernor(options.governor);
  }

  /** Queues a request. Throws {@linkcode TooManyRequestsError} when the queue is full. */
  handle(request: ChunkRequest): void {
    if (this.#closed) return;
    if (this.#queue.length - this.#head >= this.#maxQueued) {
      throw new TooManyRequestsError(this.#maxQueued);
    }
    this.#queue.push(request);
    this.#kick();
  }

  #kick(): void {
    if (this.#running !== undefined) return;
    if (this.#filesTimer !== undefined) clearTimeout(this.#filesTimer);
    this.#filesTimer = undefined;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#files.size > 0 && !this.#closed) {
        // The next request often comes a moment later: keep the handles
        // a little, then let them go (nothing held open while idle).
        const timer = setTimeout(() => {
          this.#filesTimer = undefined;
          this.#files.clear();
        }, FILES_IDLE_MS);
        Deno.unrefTimer(timer);
        this.#filesTimer = timer;
      }
      // A request may have come after the loop's last look at the queue.
      if (!this.#closed && this.#head < this.#queue.length) this.#kick();
    });
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
      const paused = this.#opts.whilePaused?.();
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
      const answer = answerChunkRequest(
        this.#opts.folder,
        this.#opts.ignore,
        request,
        this.#files,
        this.#policy,
        this.#governor.compressing,
        this.#opts.indexed,
        this.#opts.partials,
      );
      if (answer.fromPartial) {
        this.partialBytesSent += answer.response.data.length;
      }
      if (answer.response.status === "ok") {
        this.#governor.answered(answer.response.rawLength);
      }
      if (answer.changed) this.#opts.onChanged?.(request.path);
      if (answer.refusal !== undefined) this.#logRefusal(request, answer);
      this.#send(answer.response);
      if (performance.now() - busySince >= MAX_BUSY_MS) {
        // Let the connection read and write.
        await new Promise((resolve) => setTimeout(resolve, 0));
        busySince = performance.now();
      }
    }
  }

  #logRefusal(request: ChunkRequest, answer: ChunkAnswer): void {
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

  #send(response: ChunkResponse): void {
    const size = response.data.length + 16;
    this.#sending += size;
    this.#sendingCount++;
    this.bytesSent += response.data.length;
    this.#opts.send(response).catch(() => {
      // The connection is gone; the pool reports it.
    }).finally(() => {
      this.#sending -= size;
      this.#sendingCount--;
      const wake = this.#wakeSent;
      this.#wakeSent = undefined;
      wake?.();
    });
  }
}
