/**
 * Checks received chunks against their BLAKE3 on a worker thread, so the
 * thread that reads the socket and decrypts is not also the one that
 * hashes: on a receiver pulling at full speed that thread was the
 * bottleneck, with the hash a fifth of its time, while the second core
 * waited. Chunks below {@linkcode VERIFY_INLINE_BELOW} are checked inline
 * (a round trip to the worker costs more than hashing them). The worker
 * is started on the first chunk and ended after a while without one.
 * @module
 */

import { blake3, sameBytes } from "./hash.ts";
import type { VerifyJob, VerifyResult } from "./chunk_verify_worker.ts";

/** Chunks shorter than this are hashed on the calling thread. */
export const VERIFY_INLINE_BELOW = 16 * 1024;

/** Options of {@linkcode ChunkVerifier}. */
export interface ChunkVerifierOptions {
  /** Worker threads (default: one less than the cores, at least one). */
  readonly size?: number;
  /** A worker without jobs this long is ended, ms (default 2000). */
  readonly idleMs?: number;
}

interface Slot {
  readonly worker: Worker;
  readonly jobs: Map<number, (ok: boolean | Error) => void>;
}

/** Whether chunks hash as announced, checked off the calling thread. */
export class ChunkVerifier {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #slots: Slot[] = [];
  #next = 0;
  #nextId = 1;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastJob = 0;

  constructor(options: ChunkVerifierOptions = {}) {
    this.#size = Math.max(
      1,
      options.size ?? (navigator.hardwareConcurrency || 2) - 1,
    );
    this.#idleMs = options.idleMs ?? 2_000;
  }

  /** Running worker threads. */
  get workers(): number {
    return this.#slots.length;
  }

  /**
   * True when `data` hashes to `hash`. A copy goes to the worker, so the
   * caller keeps `data`. Rejects only when a worker failed.
   */
  verify(data: Uint8Array, hash: Uint8Array): Promise<boolean> {
    if (data.length < VERIFY_INLINE_BELOW) {
      return Promise.resolve(sameBytes(blake3(data), hash));
    }
    const slot = this.#slot();
    const id = this.#nextId++;
    this.#lastJob = performance.now();
    return new Promise<boolean>((resolve, reject) => {
      slot.jobs.set(id, (r) => r instanceof Error ? reject(r) : resolve(r));
      // Exact copies, moved: cloning a view would copy its whole buffer
      // (a record's chunk hashes share one).
      const job: VerifyJob = { id, data: data.slice(), hash: hash.slice() };
      slot.worker.postMessage(job, [job.data.buffer, job.hash.buffer]);
    });
  }

  /** Ends the workers; checks in progress reject. */
  close(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const slot of this.#slots.splice(0)) this.#end(slot, "closed");
  }

  #slot(): Slot {
    if (this.#slots.length < this.#size) {
      const slot = this.#spawn();
      this.#slots.push(slot);
      this.#armIdle();
      return slot;
    }
    // Round robin: the jobs are alike, and the requester bounds them.
    const slot = this.#slots[this.#next++ % this.#slots.length]!;
    return slot;
  }

  #spawn(): Slot {
    const worker = new Worker(
      new URL("./chunk_verify_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    const slot: Slot = { worker, jobs: new Map() };
    worker.onmessage = (ev: MessageEvent<VerifyResult>) => {
      const done = slot.jobs.get(ev.data.id);
      slot.jobs.delete(ev.data.id);
      done?.(ev.data.ok);
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      const at = this.#slots.indexOf(slot);
      if (at >= 0) this.#slots.splice(at, 1);
      this.#end(slot, ev.message);
    };
    return slot;
  }

  #end(slot: Slot, why: string): void {
    slot.worker.terminate();
    const error = new Error(`Chunk verifier worker ended: ${why}`);
    for (const done of slot.jobs.values()) done(error);
    slot.jobs.clear();
  }

  /** Ends idle workers once no chunk came for `idleMs`. */
  #armIdle(): void {
    if (this.#idleTimer !== undefined) return;
    const check = () => {
      this.#idleTimer = undefined;
      const idleFor = performance.now() - this.#lastJob;
      const busy = this.#slots.some((s) => s.jobs.size > 0);
      if (!busy && idleFor >= this.#idleMs) {
        for (const slot of this.#slots.splice(0)) this.#end(slot, "idle");
        return;
      }
      const timer = setTimeout(check, Math.max(10, this.#idleMs - idleFor));
      Deno.unrefTimer(timer);
      this.#idleTimer = timer;
    };
    const timer = setTimeout(check, this.#idleMs);
    Deno.unrefTimer(timer);
    this.#idleTimer = timer;
  }
}

let shared: ChunkVerifier | undefined;

/** The process's verifier (started on first use, its worker ended when idle). */
export function sharedChunkVerifier(): ChunkVerifier {
  shared ??= new ChunkVerifier();
  return shared;
}
