/**
 * A bounds-checked cursor over a received message. Every read checks the
 * remaining length first and throws a `ProtocolError` subclass, never a
 * `RangeError`. Byte fields come back as views into the reader's bytes
 * (creating a view is far cheaper than copying 32 bytes), so give it bytes
 * nobody else will overwrite.
 */
import { LimitExceededError, MalformedMessageError } from "./errors.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const scratch = new DataView(new ArrayBuffer(8));

export class Reader {
  readonly #bytes: Uint8Array;
  #pos = 0;
  // The halves of the last 64-bit varint read (see #readU64).
  #lo = 0;
  #hi = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Offset of the next byte. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  #truncated(field: string, needed: number): MalformedMessageError {
    return new MalformedMessageError(
      `Message truncated in ${field}: needs ${needed} more bytes at offset ${this.#pos}, has ${this.remaining}`,
    );
  }

  /** One byte. */
  u8(field: string): number {
    const b = this.#bytes[this.#pos];
    if (b === undefined) throw this.#truncated(field, 1);
    this.#pos++;
    return b;
  }

  /** A byte that must be 0 or 1. */
  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) {
      throw new MalformedMessageError(`Invalid ${field}: boolean byte ${b}`);
    }
    return b === 1;
  }

  #nonCanonical(field: string): MalformedMessageError {
    return new MalformedMessageError(
      `Invalid ${field}: non-canonical varint ending at offset ${this.#pos}`,
    );
  }

  /**
   * Unsigned LEB128 into a number, at most `max` (≤ 2^53 - 1). Larger values
   * throw `LimitExceededError`; overlong encodings `MalformedMessageError`.
   */
  varUint(field: string, max: number): number {
    let b = this.u8(field);
    let value = b & 0x7f;
    if (b >= 0x80) {
      let scale = 128;
      for (let count = 2;; count++) {
        b = this.u8(field);
        value += (b & 0x7f) * scale;
        if (b < 0x80) {
          if (b === 0) throw this.#nonCanonical(field);
          break;
        }
        // Eight groups hold 56 bits, beyond every number field.
        if (count === 8) {
          throw new LimitExceededError(
            `Invalid ${field}: varint exceeds ${max}`,
          );
        }
        scale *= 128;
      }
    }
    if (value > max) {
      throw new LimitExceededError(`Invalid ${field}: ${value} exceeds ${max}`);
    }
    return value;
  }

  /** Reads a varint of up to 64 bits into `#lo` and `#hi` (32 bits each). */
  #readU64(field: string): void {
    let lo = 0;
    let hi = 0;
    let count = 0;
    let b: number;
    do {
      if (count === 10) {
        throw new MalformedMessageError(
          `Invalid ${field}: varint longer than 10 bytes`,
        );
      }
      b = this.u8(field);
      const group = b & 0x7f;
      if (count < 4) lo |= group << (7 * count);
      else if (count === 4) {
        lo |= (group & 0xf) << 28;
        hi = group >>> 4;
      } else hi |= group << (7 * count - 32);
      count++;
    } while (b >= 0x80);
    if (count > 1 && b === 0) throw this.#nonCanonical(field);
    if (count === 10 && b > 1) {
      throw new LimitExceededError(`Invalid ${field}: varint exceeds 64 bits`);
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /** Unsigned LEB128 into a bigint, at most `max` (≤ 2^64 - 1). */
  varBigUint(field: string, max: bigint): bigint {
    this.#readU64(field);
    const hi = this.#hi;
    let value: bigint;
    if (hi < 0x20_0000) {
      value = BigInt(hi * 0x1_0000_0000 + this.#lo); // below 2^53: exact
    } else {
      // Through a DataView: one bigint allocated instead of four.
      scratch.setUint32(0, this.#lo, true);
      scratch.setUint32(4, hi, true);
      value = scratch.getBigUint64(0, true);
    }
    if (value > max) {
      throw new LimitExceededError(`Invalid ${field}: ${value} exceeds ${max}`);
    }
    return value;
  }

  /** A zigzag varint into a signed 64-bit bigint. */
  varZigzag64(field: string): bigint {
    this.#readU64(field);
    const lo = this.#lo;
    const hi = this.#hi;
    // n = (u >>> 1) ^ -(u & 1), on the two 32-bit halves.
    const flip = -(lo & 1);
    scratch.setUint32(0, (((lo >>> 1) | (hi << 31)) ^ flip) >>> 0, true);
    scratch.setUint32(4, ((hi >>> 1) ^ flip) >>> 0, true);
    return scratch.getBigInt64(0, true);
  }

  /** Exactly `n` raw bytes, as a view. */
  raw(field: string, n: number): Uint8Array {
    if (n > this.remaining) throw this.#truncated(field, n);
    const bytes = this.#bytes;
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + this.#pos, n);
    this.#pos += n;
    return view;
  }

  /** A varint length of at most `maxBytes`, then that many bytes, as a view. */
  bytes(field: string, maxBytes: number): Uint8Array {
    const n = this.varUint(`${field} length`, maxBytes);
    return this.raw(field, n);
  }

  /** A varint length of at most `maxBytes`, then that many bytes of UTF-8. */
  string(field: string, maxBytes: number): string {
    const n = this.varUint(`${field} length`, maxBytes);
    if (n > this.remaining) throw this.#truncated(field, n);
    const bytes = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    this.#pos = end;
    // Short ASCII strings (most names) are cheaper to build by hand.
    if (n <= 64) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if ((bytes[i] as number) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return String.fromCharCode.apply(
          null,
          bytes.subarray(start, end) as unknown as number[],
        );
      }
    }
    try {
      return decoder.decode(bytes.subarray(start, end));
    } catch (error) {
      throw new MalformedMessageError(`Invalid ${field}: not UTF-8`, {
        cause: error,
      });
    }
  }

  /** Throws unless every byte was read. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new MalformedMessageError(
        `${this.remaining} trailing bytes after ${what}`,
      );
    }
  }
}
