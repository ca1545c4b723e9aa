/**
 * A growable byte buffer for encoding. Capacity doubles, so writing n bytes
 * costs O(n) in total however many fields they come in.
 */

import { varUintSize } from "./_varint.ts";

const encoder = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));

export class Writer {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    const needed = this.#pos + extra;
    if (needed <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** One byte (0–255). */
  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
  }

  /** Unsigned LEB128 of a safe non-negative integer. */
  varUint(v: number): void {
    this.#ensure(8);
    this.#pos = this.#putVarUint(this.#pos, v);
  }

  #putVarUint(pos: number, v: number): number {
    const buf = this.#buf;
    while (v >= 0x8000_0000) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }

  /** Unsigned LEB128 of a value from 0 to 2^64 - 1. */
  varBigUint(v: bigint): void {
    if (v <= 0x1f_ffff_ffff_ffffn) {
      this.varUint(Number(v));
      return;
    }
    scratch.setBigUint64(0, v, true);
    this.#putU64(scratch.getUint32(0, true), scratch.getUint32(4, true));
  }

  /** Zigzag LEB128 of a signed 64-bit value. */
  varZigzag64(v: bigint): void {
    scratch.setBigInt64(0, v, true);
    const lo = scratch.getUint32(0, true);
    const hi = scratch.getUint32(4, true);
    // (n << 1) ^ (n >> 63), on the two 32-bit halves.
    const flip = hi >> 31;
    this.#putU64(
      ((lo << 1) ^ flip) >>> 0,
      (((hi << 1) | (lo >>> 31)) ^ flip) >>> 0,
    );
  }

  #putU64(lo: number, hi: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    let pos = this.#pos;
    while (hi !== 0 || lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.#pos = pos;
  }

  /** Raw bytes, no length. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#ensure(n);
    if (n <= 64) {
      // A loop beats TypedArray.set for hash-sized copies.
      const buf = this.#buf;
      const pos = this.#pos;
      for (let i = 0; i < n; i++) buf[pos + i] = bytes[i] as number;
    } else {
      this.#buf.set(bytes, this.#pos);
    }
    this.#pos += n;
  }

  /** Varint length, then the bytes. */
  bytes(bytes: Uint8Array): void {
    this.varUint(bytes.length);
    this.raw(bytes);
  }

  /**
   * Varint UTF-8 length, then the UTF-8 of `s` (which must be well-formed).
   * Returns the UTF-8 length.
   */
  string(s: string): number {
    const n = s.length;
    // Room for the prefix of the longest possible encoding (3 bytes a unit).
    const reserve = varUintSize(3 * n);
    this.#ensure(reserve + 3 * n);
    const buf = this.#buf;
    const start = this.#pos + reserve;
    let pos = start;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos++] = c;
    }
    if (i < n) {
      const { written } = encoder.encodeInto(
        i === 0 ? s : s.slice(i),
        buf.subarray(pos),
      );
      pos += written;
    }
    const length = pos - start;
    const prefix = varUintSize(length);
    if (prefix !== reserve) {
      buf.copyWithin(this.#pos + prefix, start, pos);
    }
    this.#pos = this.#putVarUint(this.#pos, length) + length;
    return length;
  }

  /** The bytes written, trimmed to size (copied when the buffer is mostly slack). */
  finish(): Uint8Array {
    return this.#pos * 2 < this.#buf.length
      ? this.#buf.slice(0, this.#pos)
      : this.#buf.subarray(0, this.#pos);
  }
}
