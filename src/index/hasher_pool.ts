/**
 * A pool of workers that digest files (chunk, hash chunks, hash the file).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { digestBytes, type FileDigest, unpackDigest } from "./file_digest.ts";
import type {
  HashJob,
  HashResult,
  StreamJob,
  StreamResult,
} from "./hasher_worker.ts";

const log = getLogger(["dsync", "index", "hasher"]);

/** Jobs a worker holds at once: while one waits for a read, the other hashes. */
const JOBS_PER_WORKER = 2;

/** Options of `HasherPool`. */
export interface HasherPoolOptions {
  /** Number of workers; default `navigator.hardwareConcurrency` (at least 1). */
  size?: number;
  /**
   * Files smaller than this many bytes are read and hashed on the calling
   * thread, which is cheaper than a round trip to a worker; 0 turns it off.
   * Default 64 KiB.
   */
  inlineBelow?: number;
}

interface Job {
  id: number;
  path: string;
  resolve: (d: FileDigest) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  streams: Map<number, StreamState>;
}

interface StreamState {
  /** Bytes posted and not yet hashed. */
  pending: number;
  /** Waiters for room (backpressure). */
  room: (() => void)[];
  done?: { resolve: (hash: Uint8Array) => void; reject: (e: Error) => void };
  failed?: Error;
}

/**
 * Bytes of the ring a stream's data passes through to its worker (shared
 * memory: no per-block buffers to allocate and collect); `update` waits
 * when it is full.
 */
const STREAM_RING = 4 << 20;

/**
 * BLAKE3 of a byte stream, computed on a pool worker while the caller
 * goes on (the pool's workers use the other cores).
 */
export interface StreamDigest {
  /**
   * Adds `data` (next in order; copied, the caller keeps it). Resolves once
   * all of it is queued for the worker.
   */
  update(data: Uint8Array): Promise<void>;
  /** The digest of everything added; the stream cannot be used afterwards. */
  digest(): Promise<Uint8Array>;
  /** Drops the stream. Idempotent. */
  cancel(): void;
}

/** Thrown by `hashFile` after `close()`. */
export class HasherPoolClosedError extends Error {
  constructor(path: string) {
    super(`Cannot hash "${path}": the hasher pool is closed`);
    this.name = "HasherPoolClosedError";
  }
}

/** Rebuilds a worker's error, as the matching `Deno.errors` class when there is one. */
function rebuildError(name: string, message: string): Error {
  const cls = (Deno.errors as Record<string, unknown>)[name];
  const err = typeof cls === "function"
    ? new (cls as ErrorConstructor)(message)
    : new Error(message);
  err.name = name;
  return err;
}

/**
 * Digests files on a pool of workers. Jobs queue when every worker is busy;
 * a failing file rejects only its own job.
 */
export class HasherPool {
  readonly size: number;
  readonly #inlineBelow: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: HasherPoolOptions = {}) {
    const size = opts.size ?? Math.max(1, navigator.hardwareConcurrency || 1);
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Cannot create a hasher pool of ${size} workers`);
    }
    this.size = size;
    const inline = opts.inlineBelow ?? 64 * 1024;
    if (!Number.isInteger(inline) || inline < 0) {
      throw new RangeError(`Invalid inlineBelow: ${inline}`);
    }
    this.#inlineBelow = inline;
  }

  /** Digest of the file at `absPath`; rejects with the read error (`Deno.errors.NotFound`, …). */
  async hashFile(absPath: string): Promise<FileDigest> {
    if (this.#closed) throw new HasherPoolClosedError(absPath);
    if (this.#inlineBelow > 0) {
      const small = await this.#readIfSmall(absPath);
      if (small !== undefined) return digestBytes(small);
    }
    return new Promise<FileDigest>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, path: absPath, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * A new {@linkcode StreamDigest}, on the pool's first worker: one keeps up
   * with a connection (hashing outruns decryption), and each worker is a
   * whole isolate's worth of memory.
   */
  stream(): StreamDigest {
    if (this.#closed) throw new HasherPoolClosedError("a stream");
    const s = this.#slots[0] ?? this.#spawn();
    const id = this.#nextId++;
    const state: StreamState = { pending: 0, room: [] };
    s.streams.set(id, state);
    const post = (job: StreamJob) => s.worker.postMessage(job);
    let ended = false;
    let ring: Uint8Array | undefined;
    let head = 0;
    return {
      update: async (data) => {
        if (ended) throw new TypeError("Cannot update an ended stream digest");
        if (ring === undefined) {
          const shared = new SharedArrayBuffer(STREAM_RING);
          ring = new Uint8Array(shared);
          post({ stream: id, op: "open", ring: shared });
        }
        for (let done = 0; done < data.length;) {
          while (state.pending >= STREAM_RING && !state.failed) {
            await new Promise<void>((resolve) => state.room.push(resolve));
          }
          if (state.failed) throw state.failed;
          const at = head % STREAM_RING;
          const n = Math.min(
            data.length - done,
            STREAM_RING - state.pending,
            STREAM_RING - at,
          );
          ring.set(data.subarray(done, done + n), at);
          post({ stream: id, op: "data", at, length: n });
          state.pending += n;
          head += n;
          done += n;
        }
      },
      digest: () => {
        if (ended) {
          return Promise.reject(
            new TypeError("Cannot end a stream digest twice"),
          );
        }
        ended = true;
        if (state.failed) return Promise.reject(state.failed);
        return new Promise<Uint8Array>((resolve, reject) => {
          state.done = { resolve, reject };
          post({ stream: id, op: "end" });
        });
      },
      cancel: () => {
        if (ended) return;
        ended = true;
        if (s.streams.delete(id) && !this.#closed) {
          post({ stream: id, op: "cancel" });
        }
        for (const wake of state.room.splice(0)) wake();
      },
    };
  }

  /** Terminates the workers; queued and running jobs reject. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) {
        job.reject(new HasherPoolClosedError(job.path));
      }
      this.#failStreams(slot, new HasherPoolClosedError("a stream"));
    }
    this.#slots.length = 0;
    for (const job of this.#queue.splice(0)) {
      job.reject(new HasherPoolClosedError(job.path));
    }
    return Promise.resolve();
  }

  /**
   * The whole file if it is a regular file under the inline limit. Only
   * the open is asynchronous (a FIFO swapped in would block it); once the
   * handle is known to be a regular file, stat and reads are synchronous:
   * for a few KiB, mostly in the page cache, each asynchronous call's round
   * trip through the runtime's thread pool costs more than the call itself.
   */
  async #readIfSmall(path: string): Promise<Uint8Array | undefined> {
    using file = await Deno.open(path, { read: true });
    const info = file.statSync();
    if (!info.isFile || info.size >= this.#inlineBelow) return undefined;
    // Read up to the limit: the file may have grown since the stat.
    const buf = new Uint8Array(Math.min(this.#inlineBelow, info.size + 1));
    let len = 0;
    while (len < buf.length) {
      const n = file.readSync(buf.subarray(len));
      if (n === null) return buf.subarray(0, len);
      len += n;
    }
    return undefined; // grew past its stat: let a worker stream it
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#freeSlot();
      if (slot === undefined) return;
      const job = this.#queue.shift()!;
      slot.jobs.set(job.id, job);
      slot.worker.postMessage({ id: job.id, path: job.path } satisfies HashJob);
    }
  }

  /** The least-loaded worker with room, starting a new one while under `size`. */
  #freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (
        s.jobs.size < JOBS_PER_WORKER &&
        (best === undefined || s.jobs.size < best.jobs.size)
      ) best = s;
    }
    if (best !== undefined && best.jobs.size === 0) return best;
    if (this.#slots.length < this.size) return this.#spawn();
    return best;
  }

  #spawn(): Slot {
    const worker = new Worker(
      new URL("./hasher_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    const slot: Slot = { worker, jobs: new Map(), streams: new Map() };
    worker.onmessage = (ev: MessageEvent<HashResult | StreamResult>) => {
      const data = ev.data;
      if ("stream" in data) this.#onStream(slot, data);
      else this.#onResult(slot, data);
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#onCrash(slot, ev.message);
    };
    this.#slots.push(slot);
    return slot;
  }

  #onStream(slot: Slot, r: StreamResult): void {
    const state = slot.streams.get(r.stream);
    if (state === undefined) return;
    if (r.op === "ack") {
      state.pending -= r.bytes;
      for (const wake of state.room.splice(0)) wake();
      return;
    }
    slot.streams.delete(r.stream);
    state.done?.resolve(r.hash);
  }

  #failStreams(slot: Slot, error: Error): void {
    for (const state of slot.streams.values()) {
      state.failed = error;
      state.done?.reject(error);
      for (const wake of state.room.splice(0)) wake();
    }
    slot.streams.clear();
  }

  #onResult(slot: Slot, r: HashResult): void {
    const job = slot.jobs.get(r.id);
    if (job === undefined) return;
    slot.jobs.delete(r.id);
    if (r.ok) {
      try {
        job.resolve(
          unpackDigest({
            size: r.size,
            hash: r.hash,
            lengths: r.lengths,
            hashes: r.hashes,
          }),
        );
      } catch (err) {
        job.reject(err as Error);
      }
    } else {
      job.reject(rebuildError(r.name, r.message));
    }
    this.#dispatch();
  }

  /** A worker died outside a job's own error handling: fail its jobs, replace it on demand. */
  #onCrash(slot: Slot, message: string): void {
    log.error("Hasher worker failed: {message}", { message });
    slot.worker.terminate();
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    for (const job of slot.jobs.values()) {
      job.reject(
        new Error(
          `Cannot hash "${job.path}": hasher worker failed: ${message}`,
        ),
      );
    }
    slot.jobs.clear();
    this.#failStreams(
      slot,
      new Error(`Cannot hash a stream: hasher worker failed: ${message}`),
    );
    this.#dispatch();
  }
}
