/**
 * Buffers a responder reads chunks into, used again once their answer is
 * written. A fresh buffer per chunk made the sender allocate (and V8 then
 * collect) a gigabyte of zeroed memory per gigabyte served; V8 runs a full
 * collection each time such outside-the-heap memory grows by a few dozen
 * megabytes, about 35 per GiB per side before this.
 *
 * Buffers come in power-of-two sizes from 16 KiB to the largest chunk, so a
 * chunk takes at most twice its length; the pool keeps at most
 * `maxKeptBytes` of free ones (the rest are left to the collector).
 * @module
 */

import { MAX_CHUNK_SIZE } from "../../protocol/mod.ts";

const SMALLEST_CLASS = 14; // 16 KiB
const LARGEST_CLASS = Math.ceil(Math.log2(MAX_CHUNK_SIZE));

/** Free buffers kept at most by default: the sending cap's worth. */
export const DEFAULT_KEPT_BYTES = 8 << 20;

/** A pool of chunk read buffers; not for concurrent holders of one buffer. */
export class ReadBuffers {
  /** Free buffers by size class (index = log2 of the size). */
  readonly #free: Uint8Array[][] = [];
  /** The backing stores of the free buffers (a second `give` is ignored). */
  readonly #freeSet = new Set<ArrayBufferLike>();
  readonly #maxKept: number;
  #kept = 0;

  constructor(maxKeptBytes = DEFAULT_KEPT_BYTES) {
    this.#maxKept = maxKeptBytes;
    for (let c = 0; c <= LARGEST_CLASS; c++) this.#free.push([]);
  }

  /** Bytes of free buffers held. */
  get keptBytes(): number {
    return this.#kept;
  }

  /**
   * A buffer of exactly `length` bytes (a view of a pooled one, contents
   * undefined). Lengths above the largest chunk get a buffer of their own.
   */
  take(length: number): Uint8Array {
    const c = classOf(length);
    if (c > LARGEST_CLASS) return new Uint8Array(length);
    const free = this.#free[c]!.pop();
    if (free === undefined) {
      return new Uint8Array(new ArrayBuffer(1 << c), 0, length);
    }
    this.#kept -= free.length;
    this.#freeSet.delete(free.buffer);
    return free.subarray(0, length);
  }

  /**
   * Returns a buffer that {@linkcode take} gave out (only those): nothing
   * may use it afterwards. One of another size than the pool's is left to
   * the collector, as is one given back twice.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    const size = buffer.byteLength;
    const c = Math.log2(size);
    if (
      !Number.isInteger(c) || c < SMALLEST_CLASS || c > LARGEST_CLASS ||
      view.byteOffset !== 0 || this.#kept + size > this.#maxKept ||
      this.#freeSet.has(buffer)
    ) return;
    this.#free[c]!.push(new Uint8Array(buffer));
    this.#freeSet.add(buffer);
    this.#kept += size;
  }
}

function classOf(length: number): number {
  return Math.max(SMALLEST_CLASS, Math.ceil(Math.log2(Math.max(1, length))));
}
