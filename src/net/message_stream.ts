/**
 * The message stream carried by DATA frames: each application message is a
 * 4-byte big-endian length followed by that many bytes, and messages follow
 * each other with no regard to frame boundaries. Packing messages into full
 * frames costs one AEAD call per ~64 KiB instead of one per message.
 */
import { type BufferPool, POOLED_MAX } from "../protocol/mod.ts";

/** Messages from this size on are copied into pooled buffers (chunk answers). */
export const POOLED_FROM = 16 * 1024;

/** Size of the length that precedes every message in the stream. */
export const MESSAGE_HEADER_SIZE = 4;
const EMPTY = new Uint8Array(0);

/** A message (sent or announced) is larger than the channel's cap. */
export class MessageTooLargeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageTooLargeError";
  }
}

/** Writes the stream header of a `length`-byte message into `out`. */
export function writeMessageHeader(
  out: Uint8Array,
  length: number,
): Uint8Array {
  out[0] = length >>> 24;
  out[1] = (length >>> 16) & 0xff;
  out[2] = (length >>> 8) & 0xff;
  out[3] = length & 0xff;
  return out;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
    bytes[at + 3]!) >>> 0;
}

/**
 * Cuts the message stream back into messages. Feed it the data of one frame
 * with `push()`, then call `next()` until it returns `undefined` (the data is
 * used up); then push the next frame's data.
 */
export class MessageAssembler {
  readonly maxMessageSize: number;
  readonly #buffers: BufferPool | undefined;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  readonly #header = new Uint8Array(MESSAGE_HEADER_SIZE);
  #headerFill = 0;
  #message: Uint8Array | undefined;
  #total = 0;
  #filled = 0;

  /**
   * A message that spans frames is copied together into a buffer of
   * `buffers` when it fits one (its taker may give it back), else into a
   * fresh one.
   */
  constructor(maxMessageSize: number, buffers?: BufferPool) {
    this.maxMessageSize = maxMessageSize;
    this.#buffers = buffers;
  }

  /**
   * `view` in a buffer of its own: a pooled one from
   * {@linkcode POOLED_FROM} bytes (chunk answers, which the puller gives
   * back), else a fresh copy.
   */
  #copy(view: Uint8Array): Uint8Array {
    if (
      this.#buffers === undefined || view.length < POOLED_FROM ||
      view.length > POOLED_MAX
    ) return view.slice();
    const copy = this.#buffers.take(view.length);
    copy.set(view);
    return copy;
  }

  /** True between messages, with all pushed data used. */
  get atBoundary(): boolean {
    return this.#headerFill === 0 && this.#message === undefined &&
      this.#pos >= this.#chunk.length;
  }

  /** Where the stream stands, for error messages. */
  describe(): string {
    if (this.#message !== undefined) {
      return `${this.#filled} of ${this.#total} message bytes`;
    }
    return `${this.#headerFill} of ${MESSAGE_HEADER_SIZE} header bytes`;
  }

  /** Supplies the next stream bytes; the previous ones must be used up. */
  push(data: Uint8Array): void {
    if (this.#pos < this.#chunk.length) {
      throw new Error("MessageAssembler.push() before next() used the data");
    }
    this.#chunk = data;
    this.#pos = 0;
  }

  /**
   * The next complete message, or `undefined` once the pushed data is used
   * up. A message lying whole inside one push is returned as a view of it
   * when it is at least half of it, else copied (so a small message never
   * pins a large frame buffer).
   * @throws {MessageTooLargeError} when a header announces more than the cap.
   */
  next(): Uint8Array | undefined {
    const chunk = this.#chunk;
    if (this.#message === undefined) {
      let pos = this.#pos;
      let total: number;
      if (this.#headerFill === 0 && chunk.length - pos >= MESSAGE_HEADER_SIZE) {
        total = readU32(chunk, pos);
        pos += MESSAGE_HEADER_SIZE;
      } else {
        while (this.#headerFill < MESSAGE_HEADER_SIZE && pos < chunk.length) {
          this.#header[this.#headerFill++] = chunk[pos++]!;
        }
        this.#pos = pos;
        if (this.#headerFill < MESSAGE_HEADER_SIZE) return undefined;
        total = readU32(this.#header, 0);
        this.#headerFill = 0;
      }
      this.#pos = pos;
      if (total > this.maxMessageSize) {
        throw new MessageTooLargeError(
          `Peer announced a message of ${total} bytes, over the cap of ${this.maxMessageSize}`,
        );
      }
      if (chunk.length - pos >= total) {
        this.#pos = pos + total;
        const view = chunk.subarray(pos, pos + total);
        return total * 2 >= chunk.length ? view : this.#copy(view);
      }
      // Its exact size at once: a buffer that doubled as bytes came took
      // 1+2+4+8+16 MB of allocations (and copies) for a 16 MB message;
      // the freed ones stayed in the allocator's heap (issue #19 point 5).
      // A peer that announces 16 MB and sends little holds that buffer
      // until the message ends or its connection does (8 s of silence):
      // one per connection, as sending 8 MB already made it before.
      this.#message = this.#buffers !== undefined && total <= POOLED_MAX
        ? this.#buffers.take(total)
        : new Uint8Array(total);
      this.#total = total;
      this.#filled = 0;
    }
    const n = Math.min(this.#total - this.#filled, chunk.length - this.#pos);
    this.#message.set(chunk.subarray(this.#pos, this.#pos + n), this.#filled);
    this.#filled += n;
    this.#pos += n;
    if (this.#filled < this.#total) return undefined;
    const message = this.#message;
    this.#message = undefined;
    return message;
  }
}
