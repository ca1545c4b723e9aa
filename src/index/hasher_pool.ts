/**
 * A pool of workers that digest files (chunk, hash chunks, hash the file).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  type ChunkInfo,
  digestBytes,
  type FileDigest,
  type PackedDigest,
  unpackDigest,
} from "./file_digest.ts";
import {
  joinDigestParts,
  PART_OVERLAP,
  partStarts,
  SPLIT_FROM,
} from "./split_digest.ts";
import type { HashJob, HashResult } from "./hasher_worker.ts";
import type { PreviousChunks } from "./known_cuts.ts";
import { BLAKE3_LEN } from "./hash.ts";
import {
  joinPaths,
  type SmallFileOutcome,
  unpackBatch,
} from "./small_file_batch.ts";

const log = getLogger(["dsync", "index", "hasher"]);

/** Jobs a worker holds at once: while one waits for a read, the other hashes. */
const JOBS_PER_WORKER = 2;

/**
 * `hashBytes` jobs a worker holds at once, besides its file jobs: enough
 * that a worker never waits for the next chunk, few enough that a file job
 * is not kept waiting long behind them.
 */
const BYTE_JOBS_PER_WORKER = 4;

/**
 * Transfer buffers `hashBytes` keeps for reuse (each goes to a worker and
 * comes back with the digest): a fresh one per chunk would be garbage.
 */
const KEPT_TRANSFER_BUFFERS = 4;

/** Transfer buffers are whole multiples of this many bytes. */
const TRANSFER_GRANULE = 64 * 1024;

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
  /**
   * A worker left without jobs for this many milliseconds is terminated
   * (each costs an isolate's memory) and started again when work comes;
   * `Infinity` keeps workers until `close()`. Default 10 s.
   */
  idleMs?: number;
  /**
   * Files smaller than this many bytes may be digested in batches by
   * `hashSmallFiles` (default 64 KiB, at least 1).
   */
  smallFileLimit?: number;
  /**
   * Files from this many bytes on are digested in parts, one per worker
   * (see `split_digest.ts`); default `SPLIT_FROM` (64 MiB), `Infinity`:
   * never.
   */
  splitFrom?: number;
}

interface Job {
  id: number;
  /** The file, or the first file of a batch (for messages). */
  path: string;
  /** The files of a batch. */
  paths?: string[];
  /** Part of a big file: where it starts and how much is read. */
  part?: { from: number; limit: number };
  /** The chunks the index holds for the file (see `known_cuts.ts`). */
  previous?: PreviousChunks;
  /** The buffers of a `hashBytes` job and where its pieces lie in them. */
  buffers?: ArrayBuffer[];
  spans?: Uint32Array<ArrayBuffer>;
  resolve: (r: HashResult & { ok: true }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** How many of `jobs` are `hashBytes` jobs. */
  byteJobs: number;
  /** `performance.now()` when its last job ended; undefined while busy. */
  idleSince: number | undefined;
}

/** The largest delay `setTimeout` takes (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
 * Digests files on a pool of workers, started on demand and ended after
 * `idleMs` without work. Jobs queue when every worker is busy; a failing
 * file rejects only its own job.
 */
export class HasherPool {
  readonly size: number;
  readonly smallFileLimit: number;
  readonly #inlineBelow: number;
  readonly #idleMs: number;
  readonly #splitFrom: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  /** `hashBytes` jobs waiting for a worker (they pass file jobs). */
  readonly #byteQueue: Job[] = [];
  /** Transfer buffers back from the workers, for the next `hashBytes`. */
  readonly #transferBuffers: ArrayBuffer[] = [];
  #nextId = 1;
  #closed = false;
  /** The one timer that ends idle workers, armed while any worker is idle. */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

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
    const idleMs = opts.idleMs ?? 10_000;
    if (!(idleMs >= 0)) throw new RangeError(`Invalid idleMs: ${idleMs}`);
    this.#idleMs = idleMs;
    const limit = opts.smallFileLimit ?? 64 * 1024;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Invalid smallFileLimit: ${limit}`);
    }
    this.smallFileLimit = limit;
    const splitFrom = opts.splitFrom ?? SPLIT_FROM;
    if (!(splitFrom >= 1)) {
      throw new RangeError(`Invalid splitFrom: ${splitFrom}`);
    }
    this.#splitFrom = splitFrom;
  }

  /**
   * Starts every worker now, so that their start-up (~0.1 s each here:
   * an isolate, the BLAKE3 module) overlaps the caller's other start-up
   * work instead of delaying the first big file; unused, they end after
   * `idleMs` as usual.
   */
  warm(): void {
    if (this.#closed) return;
    while (this.#slots.length < this.size) {
      this.#spawn().idleSince = performance.now();
    }
    this.#armIdleTimer();
  }

  /** Number of running workers (started on demand, ended when idle). */
  get workers(): number {
    return this.#slots.length;
  }

  /**
   * Digest of the file at `absPath`; rejects with the read error
   * (`Deno.errors.NotFound`, …). `previous`, the chunks the index holds
   * for it, spares re-cutting what did not change (`known_cuts.ts`).
   */
  async hashFile(
    absPath: string,
    previous?: readonly ChunkInfo[],
  ): Promise<FileDigest> {
    if (this.#closed) throw new HasherPoolClosedError(absPath);
    const { small, size } = await this.#readIfSmall(absPath);
    if (small !== undefined) return digestBytes(small);
    // The same packed list goes to every part of the file.
    const extra: Pick<Job, "previous"> =
      previous === undefined || previous.length === 0
        ? {}
        : { previous: packChunks(previous) };
    if (this.size > 1 && size >= this.#splitFrom && this.#idle()) {
      const joined = await this.#hashInParts(absPath, size, extra);
      if (joined !== undefined) return unpackDigest(joined);
      log.debug("Digesting {path} in one pass: its parts share no cut", {
        path: absPath,
      });
    }
    const r = await this.#run(absPath, extra);
    if (!("size" in r)) throw new TypeError("Worker answered a batch");
    return unpackDigest(r);
  }

  /**
   * No job queued or running: only then does a big file go in parts (with
   * other files waiting, the workers are kept busy anyway, and parts cost
   * ~15% more CPU: measured 760-940 vs 630-860 ms per 256 MiB).
   */
  #idle(): boolean {
    return this.#queue.length === 0 &&
      this.#slots.every((s) => s.jobs.size === 0);
  }

  /** One job in a worker, when one is free. */
  #run(
    path: string,
    extra: Pick<Job, "paths" | "part" | "previous"> = {},
  ): Promise<HashResult & { ok: true }> {
    return new Promise((resolve, reject) => {
      this.#queue.push({
        id: this.#nextId++,
        path,
        ...extra,
        resolve,
        reject,
      });
      this.#dispatch();
    });
  }

  /**
   * The digest of a big file cut by every worker at once (see
   * `split_digest.ts`), or undefined when its parts do not join.
   */
  async #hashInParts(
    path: string,
    size: number,
    extra: Pick<Job, "previous">,
  ): Promise<PackedDigest | undefined> {
    const starts = partStarts(size, this.size);
    const parts = await Promise.all(starts.map(async (from, k) => {
      const next = starts[k + 1];
      const limit = next === undefined ? Infinity : next - from + PART_OVERLAP;
      const r = await this.#run(path, { part: { from, limit }, ...extra });
      if (!("part" in r)) throw new TypeError("Worker answered another job");
      return r.part;
    }));
    return joinDigestParts(parts);
  }

  /**
   * Digests the files at `absPaths` in one worker job: each outcome is its
   * digest with the `lstat` taken after the read, `not-small` for a path
   * that is no regular file under {@linkcode smallFileLimit} when opened,
   * or the error that stopped its read (only that file's). Rejects only
   * when the pool is closed or the worker fails.
   */
  async hashSmallFiles(
    absPaths: readonly string[],
  ): Promise<SmallFileOutcome[]> {
    if (absPaths.length === 0) return [];
    if (this.#closed) throw new HasherPoolClosedError(absPaths[0]!);
    const paths = [...absPaths];
    const r = await this.#run(paths[0]!, { paths });
    if (!("batch" in r)) throw new TypeError("Worker answered one file");
    return unpackBatch(r.batch, paths.length, rebuildError);
  }

  /**
   * BLAKE3 (32 bytes each, end to end) of each of `pieces`, computed on a
   * worker so that the calling thread goes on with other work (a receiver
   * decrypts the next chunks while a worker checks these). The pieces are
   * copied into one transfer buffer (a copy costs a fraction of the hash)
   * and left as they were. Give several at once: each job is a round trip
   * between threads, which cost ~150 µs of CPU here (measured with 16-64
   * KiB jobs), as much as hashing 100 KiB. These jobs pass queued file
   * jobs: a chunk check waits for no file.
   */
  async hashBytes(pieces: readonly Uint8Array[]): Promise<Uint8Array> {
    if (this.#closed) throw new HasherPoolClosedError("bytes");
    let total = 0;
    const spans = new Uint32Array(3 * pieces.length);
    for (let i = 0; i < pieces.length; i++) {
      spans[3 * i + 1] = total;
      spans[3 * i + 2] = pieces[i]!.length;
      total += pieces[i]!.length;
    }
    const bytes = this.#transferBuffer(total);
    const into = new Uint8Array(bytes, 0, total);
    let at = 0;
    for (const piece of pieces) {
      into.set(piece, at);
      at += piece.length;
    }
    const r = await this.#runBytes([bytes], spans);
    if (this.#transferBuffers.length < KEPT_TRANSFER_BUFFERS) {
      this.#transferBuffers.push(r.buffers[0]!);
    }
    return r.digest;
  }

  /**
   * Like {@linkcode hashBytes}, without the copy: the pieces' own buffers
   * go to the worker (transferred: every view of them, the caller's
   * included, reads as empty until they come back, so nothing on this
   * thread can reuse or change them meanwhile) and come back as new
   * buffers, viewed by the returned `pieces` (same offsets and lengths).
   * The caller must own the whole of each buffer: nothing else may hold a
   * view of it. On rejection the buffers are lost.
   */
  async hashOwnedBytes(
    pieces: readonly Uint8Array[],
  ): Promise<{ digest: Uint8Array; pieces: Uint8Array[] }> {
    if (this.#closed) throw new HasherPoolClosedError("bytes");
    const buffers: ArrayBuffer[] = [];
    const spans = new Uint32Array(3 * pieces.length);
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const buffer = piece.buffer;
      if (!(buffer instanceof ArrayBuffer) || buffer.detached) {
        throw new TypeError(
          `Piece ${i} of hashOwnedBytes() lies in no transferable buffer`,
        );
      }
      let index = buffers.indexOf(buffer);
      if (index < 0) index = buffers.push(buffer) - 1;
      spans[3 * i] = index;
      spans[3 * i + 1] = piece.byteOffset;
      spans[3 * i + 2] = piece.length;
    }
    const r = await this.#runBytes(buffers, spans);
    return {
      digest: r.digest,
      pieces: pieces.map((_, i) =>
        new Uint8Array(
          r.buffers[spans[3 * i]!]!,
          spans[3 * i + 1]!,
          spans[3 * i + 2]!,
        )
      ),
    };
  }

  #runBytes(
    buffers: ArrayBuffer[],
    spans: Uint32Array<ArrayBuffer>,
  ): Promise<{ digest: Uint8Array; buffers: ArrayBuffer[] }> {
    return new Promise<HashResult & { ok: true }>((resolve, reject) => {
      this.#byteQueue.push({
        id: this.#nextId++,
        path: "bytes",
        buffers,
        spans,
        resolve,
        reject,
      });
      this.#dispatch();
    }).then((r) => {
      if (!("digest" in r)) throw new TypeError("Worker answered a file");
      return r;
    });
  }

  /** A kept transfer buffer of at least `length` bytes, or a new one. */
  #transferBuffer(length: number): ArrayBuffer {
    const kept = this.#transferBuffers;
    for (let i = 0; i < kept.length; i++) {
      if (kept[i]!.byteLength >= length) {
        const found = kept[i]!;
        kept[i] = kept[kept.length - 1]!;
        kept.pop();
        return found;
      }
    }
    const granules = Math.max(1, Math.ceil(length / TRANSFER_GRANULE));
    return new ArrayBuffer(granules * TRANSFER_GRANULE);
  }

  /** Terminates the workers; queued and running jobs reject. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) {
        job.reject(new HasherPoolClosedError(job.path));
      }
    }
    this.#slots.length = 0;
    for (
      const job of [...this.#queue.splice(0), ...this.#byteQueue.splice(0)]
    ) {
      job.reject(new HasherPoolClosedError(job.path));
    }
    this.#transferBuffers.length = 0;
    return Promise.resolve();
  }

  /**
   * The whole file if it is a regular file under the inline limit. The
   * open and the reads are asynchronous (a FIFO swapped in would block the
   * open, and a file not in the page cache makes each read wait for the
   * disk: synchronous reads served a cold folder one file at a time); the
   * stat of the open handle is synchronous.
   */
  async #readIfSmall(
    path: string,
  ): Promise<{ small?: Uint8Array; size: number }> {
    using file = await Deno.open(path, { read: true });
    const info = file.statSync();
    const size = info.size;
    if (!info.isFile || size >= this.#inlineBelow) return { size };
    // Read up to the limit: the file may have grown since the stat.
    const buf = new Uint8Array(Math.min(this.#inlineBelow, info.size + 1));
    let len = 0;
    while (len < buf.length) {
      const n = await file.read(buf.subarray(len));
      if (n === null) return { small: buf.subarray(0, len), size };
      len += n;
      // A regular file reads in full up to its end: exactly the stat's size
      // is all of it, without one more read to see the end (each is a trip
      // through the blocking pool).
      if (len === size) return { small: buf.subarray(0, len), size };
    }
    return { size }; // grew past its stat: let a worker read it
  }

  #dispatch(): void {
    while (this.#byteQueue.length > 0) {
      const slot = this.#byteSlot();
      if (slot === undefined) break;
      const job = this.#byteQueue.shift()!;
      slot.jobs.set(job.id, job);
      slot.byteJobs++;
      slot.idleSince = undefined;
      slot.worker.postMessage(
        {
          id: job.id,
          buffers: job.buffers!,
          spans: job.spans!,
        } satisfies HashJob,
        // `spans` is copied: the caller reads it again to view what comes back.
        job.buffers!,
      );
    }
    while (this.#queue.length > 0) {
      const slot = this.#freeSlot();
      if (slot === undefined) return;
      const job = this.#queue.shift()!;
      slot.jobs.set(job.id, job);
      slot.idleSince = undefined;
      slot.worker.postMessage(
        (job.paths !== undefined
          ? {
            id: job.id,
            paths: joinPaths(job.paths),
            limit: this.smallFileLimit,
          }
          : job.part !== undefined
          ? { id: job.id, path: job.path, ...job.part, ...previousOf(job) }
          : {
            id: job.id,
            path: job.path,
            ...previousOf(job),
          }) satisfies HashJob,
      );
    }
  }

  /**
   * The worker with the fewest `hashBytes` jobs and room for one more,
   * starting a new one while under `size` and none is free of them.
   */
  #byteSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (
        s.byteJobs < BYTE_JOBS_PER_WORKER &&
        (best === undefined || s.byteJobs < best.byteJobs)
      ) best = s;
    }
    if (best !== undefined && best.byteJobs === 0) return best;
    if (this.#slots.length < this.size) return this.#spawn();
    return best;
  }

  /** The least-loaded worker with room, starting a new one while under `size`. */
  #freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (
        s.jobs.size - s.byteJobs < JOBS_PER_WORKER &&
        (best === undefined || s.jobs.size < best.jobs.size)
      ) best = s;
    }
    if (best !== undefined && best.jobs.size === best.byteJobs) return best;
    if (this.#slots.length < this.size) return this.#spawn();
    return best;
  }

  #spawn(): Slot {
    const worker = new Worker(
      new URL("./hasher_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    const slot: Slot = {
      worker,
      jobs: new Map(),
      byteJobs: 0,
      idleSince: undefined,
    };
    worker.onmessage = (ev: MessageEvent<HashResult>) => {
      this.#onResult(slot, ev.data);
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#onCrash(slot, ev.message);
    };
    this.#slots.push(slot);
    return slot;
  }

  #onResult(slot: Slot, r: HashResult): void {
    const job = slot.jobs.get(r.id);
    if (job === undefined) return;
    slot.jobs.delete(r.id);
    if (job.buffers !== undefined) slot.byteJobs--;
    if (r.ok) {
      job.resolve(r);
    } else {
      job.reject(rebuildError(r.name, r.message));
    }
    this.#dispatch();
    if (slot.jobs.size === 0 && this.#slots.includes(slot)) {
      slot.idleSince = performance.now();
      this.#armIdleTimer();
    }
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
    slot.byteJobs = 0;
    this.#dispatch();
  }

  /** Arms the idle timer, unless armed, for the worker idle the longest. */
  #armIdleTimer(): void {
    if (
      this.#idleTimer !== undefined || this.#closed ||
      this.#idleMs === Infinity
    ) return;
    let oldest = Infinity;
    for (const s of this.#slots) {
      if (s.idleSince !== undefined) oldest = Math.min(oldest, s.idleSince);
    }
    if (oldest === Infinity) return;
    const delay = Math.max(0, oldest + this.#idleMs - performance.now());
    const timer = setTimeout(
      () => this.#endIdleWorkers(),
      Math.min(delay, MAX_TIMER_MS),
    );
    // Never keep the process alive just to end a worker.
    Deno.unrefTimer(timer);
    this.#idleTimer = timer;
  }

  /** Terminates the workers idle for `idleMs` or more; re-arms for the rest. */
  #endIdleWorkers(): void {
    this.#idleTimer = undefined;
    const now = performance.now();
    const idle = this.#slots.filter((s) =>
      s.idleSince !== undefined && now - s.idleSince >= this.#idleMs
    );
    for (const s of idle) {
      s.worker.terminate();
      this.#slots.splice(this.#slots.indexOf(s), 1);
    }
    if (idle.length > 0) {
      log.debug("Ended {count} hasher workers idle for {idleMs} ms", {
        count: idle.length,
        idleMs: this.#idleMs,
      });
    }
    this.#armIdleTimer();
  }
}

/** A chunk list packed to cross to a worker. */
function packChunks(chunks: readonly ChunkInfo[]): PreviousChunks {
  const lengths = new Uint32Array(chunks.length);
  const hashes = new Uint8Array(chunks.length * BLAKE3_LEN);
  for (let i = 0; i < chunks.length; i++) {
    lengths[i] = chunks[i]!.length;
    hashes.set(chunks[i]!.hash, i * BLAKE3_LEN);
  }
  return { lengths, hashes };
}

function previousOf(job: Job): { previous?: PreviousChunks } {
  return job.previous === undefined ? {} : { previous: job.previous };
}
