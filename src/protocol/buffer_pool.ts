/**
 * Byte buffers for chunk-sized data, used again once their holder is done
 * with them. Each chunk sent or received took a fresh buffer (zeroed by the
 * runtime, then collected): a gigabyte of garbage per gigabyte on each
 * side, and V8 runs a full collection each time such memory outside its
 * heap grows by a few dozen megabytes (~30 per GiB per side).
 *
 * Buffers come in sizes of whole 16 KiB granules up to one chunk and its
 * message header; the pool keeps at most `maxKeptBytes` of free ones (more
 * are left to the collector). Only buffers this pool made are taken back,
 * each once: a view of anything else given back is ignored.
 * @module
 */

import { MAX_CHUNK_SIZE } from "./limits.ts";

const GRANULE = 16 * 1024;
/** Largest pooled buffer: a whole chunk plus room for its message header. */
export const POOLED_MAX = MAX_CHUNK_SIZE + GRANULE;

/** A pool of chunk-sized buffers. */
export class BufferPool {
  /** Free buffers by size in granules. */
  readonly #free: ArrayBuffer[][] = [];
  /** Every buffer this pool made (a foreign one is never taken back). */
  readonly #owned = new WeakSet<ArrayBufferLike>();
  /** The free ones (one given back twice is kept once). */
  readonly #isFree = new Set<ArrayBufferLike>();
  readonly #maxKept: number;
  #kept = 0;

  constructor(maxKeptBytes: number) {
    this.#maxKept = maxKeptBytes;
    for (let g = 0; g <= POOLED_MAX / GRANULE; g++) this.#free.push([]);
  }

  /** Bytes of free buffers held. */
  get keptBytes(): number {
    return this.#kept;
  }

  /**
   * A buffer of exactly `length` bytes, contents undefined: a view from the
   * start of a pooled buffer, or a buffer of its own above {@linkcode POOLED_MAX}.
   */
  take(length: number): Uint8Array {
    if (length > POOLED_MAX) return new Uint8Array(length);
    const granules = Math.max(1, Math.ceil(length / GRANULE));
    const free = this.#free[granules]!.pop();
    if (free !== undefined) {
      this.#kept -= free.byteLength;
      this.#isFree.delete(free);
      return new Uint8Array(free, 0, length);
    }
    const made = new ArrayBuffer(granules * GRANULE);
    this.#owned.add(made);
    return new Uint8Array(made, 0, length);
  }

  /**
   * Takes back the buffer under `view` (any view of it) once nothing uses
   * it any more. Ignored for buffers this pool did not make, and for one
   * handed to another thread (detached: it is away, or came back as
   * another buffer, see {@linkcode adopt}).
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (
      !this.#owned.has(buffer) || this.#isFree.has(buffer) ||
      (buffer as ArrayBuffer).detached ||
      this.#kept + buffer.byteLength > this.#maxKept
    ) return;
    this.#free[buffer.byteLength / GRANULE]!.push(buffer as ArrayBuffer);
    this.#isFree.add(buffer);
    this.#kept += buffer.byteLength;
  }

  /**
   * `back` is `away` come back from another thread (transferred there and
   * back, so a new buffer object over the same memory): it is this pool's
   * when `away` was, and may be given back; `away` never again.
   */
  adopt(away: ArrayBufferLike, back: ArrayBufferLike): void {
    if (!this.#owned.has(away) || this.#isFree.has(away)) return;
    this.#owned.delete(away);
    this.#owned.add(back);
  }
}

/**
 * The buffers messages are received into: channels assemble messages that
 * span frames in them, and the puller gives a chunk's back once it copied
 * the bytes out. One per process, so that the network side, which makes
 * the buffers, and the sync side, which is done with them, need no wiring.
 */
export const receivedMessages: BufferPool = new BufferPool(8 << 20);
