/**
 * Length-prefixed frames over a byte stream: a 2-byte big-endian length, then
 * that many bytes of body. The reader pulls large chunks from the socket into
 * one bounded buffer and hands frames out as views into it; the writer packs
 * frames into one bounded buffer so that many small frames cost one syscall.
 */

/** Anything that reads bytes like `Deno.Conn`. */
export interface ByteReader {
  read(p: Uint8Array): Promise<number | null>;
}

/** Anything that writes bytes like `Deno.Conn`. */
export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
}

/** Size of the length prefix. */
export const FRAME_LENGTH_SIZE = 2;
/** Largest body a 2-byte length can describe (also the Noise message limit). */
export const MAX_FRAME_BODY = 0xffff;
/** Default buffer size of readers and writers: room for several full frames. */
export const DEFAULT_IO_BUFFER = 256 * 1024;

// Below this much free tail space the reader compacts before reading.
const MIN_READ = 16 * 1024;

/** The stream ended in the middle of a frame (or of an exact read). */
export class TruncatedFrameError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TruncatedFrameError";
  }
}

/** A frame's length prefix is outside the bounds the reader accepts. */
export class FrameSizeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FrameSizeError";
  }
}

/** Options of a `FrameReader`. */
export interface FrameReaderOptions {
  /** Buffer size in bytes; at least one largest frame. */
  bufferSize?: number;
  /** Smallest body accepted by `readFrame()`; smaller → `FrameSizeError`. */
  minFrameBody?: number;
  /** Largest body accepted by `readFrame()`; larger → `FrameSizeError`. */
  maxFrameBody?: number;
}

/** Buffered reader of exact byte counts and of length-prefixed frames. */
export class FrameReader {
  #src: ByteReader;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #minBody: number;
  #maxBody: number;

  constructor(src: ByteReader, options: FrameReaderOptions = {}) {
    const size = options.bufferSize ?? DEFAULT_IO_BUFFER;
    this.#minBody = options.minFrameBody ?? 0;
    this.#maxBody = options.maxFrameBody ?? MAX_FRAME_BODY;
    if (
      !Number.isInteger(this.#maxBody) || this.#maxBody < this.#minBody ||
      this.#maxBody > MAX_FRAME_BODY || this.#minBody < 0
    ) {
      throw new RangeError(
        `Frame body bounds must satisfy 0 <= min <= max <= ${MAX_FRAME_BODY}, got ${this.#minBody} and ${this.#maxBody}`,
      );
    }
    if (!Number.isInteger(size) || size < FRAME_LENGTH_SIZE + this.#maxBody) {
      throw new RangeError(
        `Frame reader buffer must hold a largest frame (${
          FRAME_LENGTH_SIZE + this.#maxBody
        } bytes), got ${size}`,
      );
    }
    this.#src = src;
    this.#buf = new Uint8Array(size);
  }

  /** Bytes read from the socket but not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads exactly `n` bytes into a fresh array (the caller may keep it).
   * End of stream first → `TruncatedFrameError`.
   */
  async readExact(n: number): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `Read length must be a non-negative integer, got ${n}`,
      );
    }
    if (n <= this.#buf.length) {
      if (!(await this.#fill(n))) {
        throw new TruncatedFrameError(
          `Connection ended after ${this.buffered} of ${n} bytes`,
        );
      }
      const out = this.#buf.slice(this.#start, this.#start + n);
      this.#start += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = Math.min(n, this.buffered);
    out.set(this.#buf.subarray(this.#start, this.#start + got));
    this.#start += got;
    while (got < n) {
      const r = this.#eof ? null : await this.#src.read(out.subarray(got));
      if (r === null) {
        this.#eof = true;
        throw new TruncatedFrameError(
          `Connection ended after ${got} of ${n} bytes`,
        );
      }
      got += r;
    }
    return out;
  }

  /**
   * Reads the next frame body. Returns `null` when the stream ends cleanly at
   * a frame boundary. The returned view aliases the reader's buffer and is
   * valid only until the next call on this reader.
   */
  async readFrame(): Promise<Uint8Array | null> {
    // Frames already buffered are parsed without waiting on the socket.
    if (
      this.buffered < FRAME_LENGTH_SIZE &&
      !(await this.#fill(FRAME_LENGTH_SIZE))
    ) {
      if (this.buffered === 0) return null;
      throw new TruncatedFrameError(
        `Connection ended inside a frame length prefix (${this.buffered} of ${FRAME_LENGTH_SIZE} bytes)`,
      );
    }
    const buf = this.#buf;
    const length = (buf[this.#start]! << 8) | buf[this.#start + 1]!;
    if (length < this.#minBody || length > this.#maxBody) {
      throw new FrameSizeError(
        `Frame length ${length} is outside [${this.#minBody}, ${this.#maxBody}]`,
      );
    }
    if (
      this.buffered < FRAME_LENGTH_SIZE + length &&
      !(await this.#fill(FRAME_LENGTH_SIZE + length))
    ) {
      throw new TruncatedFrameError(
        `Connection ended inside a frame: ${
          this.buffered - FRAME_LENGTH_SIZE
        } of ${length} body bytes`,
      );
    }
    const bodyStart = this.#start + FRAME_LENGTH_SIZE;
    this.#start = bodyStart + length;
    return this.#buf.subarray(bodyStart, bodyStart + length);
  }

  /** Ensures `n` bytes are buffered; false if the stream ended first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#eof) return false;
      if (this.#start === this.#end) {
        this.#start = this.#end = 0;
      } else if (
        this.#buf.length - this.#start < n ||
        this.#buf.length - this.#end < MIN_READ
      ) {
        // Too little room behind the unread bytes: move them to the front so
        // the socket read below stays large.
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const r = await this.#src.read(this.#buf.subarray(this.#end));
      if (r === null) {
        this.#eof = true;
        return false;
      }
      this.#end += r;
    }
    return true;
  }
}

/** Writes all of `bytes`, looping over short writes. */
export async function writeAll(
  dst: ByteWriter,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    off += await dst.write(bytes.subarray(off));
  }
}

/** Options of a `FrameWriter`. */
export interface FrameWriterOptions {
  /** Size of each of the two coalescing buffers; at least one largest frame. */
  bufferSize?: number;
}

/**
 * Packs frames into a bounded buffer and writes it in one call when it fills
 * or on `flush()`. Two buffers alternate: while the socket takes one, frames
 * go into the other, so sealing overlaps a blocked write. Not safe for
 * concurrent use: one writer at a time.
 */
export class FrameWriter {
  #dst: ByteWriter;
  #spare: Uint8Array | undefined;
  #buf: Uint8Array;
  #used = 0;
  #appended = 0;
  #written = 0;
  /** The write of the other buffer, if one is under way. */
  #pending: Promise<void> | undefined;

  constructor(dst: ByteWriter, options: FrameWriterOptions = {}) {
    const size = options.bufferSize ?? DEFAULT_IO_BUFFER;
    if (!Number.isInteger(size) || size < FRAME_LENGTH_SIZE + MAX_FRAME_BODY) {
      throw new RangeError(
        `Frame writer buffer must hold a largest frame (${
          FRAME_LENGTH_SIZE + MAX_FRAME_BODY
        } bytes), got ${size}`,
      );
    }
    this.#dst = dst;
    this.#buf = new Uint8Array(size);
  }

  /** Bytes appended but not yet handed to the socket in full. */
  get buffered(): number {
    return this.#appended - this.#written;
  }

  /** Total bytes ever appended. */
  get appended(): number {
    return this.#appended;
  }

  /** Total bytes ever handed to the underlying writer in full. */
  get written(): number {
    return this.#written;
  }

  /** Appends one frame (a copy of `body`). */
  writeFrame(body: Uint8Array): Promise<void> {
    return this.writeFrameWith(
      body.length,
      (buf, offset) => buf.set(body, offset),
    );
  }

  /**
   * Appends a frame of `bodyLength` bytes that `fill` writes in place at
   * `buf[offset..offset+bodyLength]` (e.g. sealing straight into the buffer,
   * which saves an allocation and a copy per frame).
   */
  async writeFrameWith(
    bodyLength: number,
    fill: (buf: Uint8Array, offset: number) => void,
  ): Promise<void> {
    if (
      !Number.isInteger(bodyLength) || bodyLength < 0 ||
      bodyLength > MAX_FRAME_BODY
    ) {
      throw new FrameSizeError(
        `Frame body of ${bodyLength} bytes is outside [0, ${MAX_FRAME_BODY}]`,
      );
    }
    if (this.#used + FRAME_LENGTH_SIZE + bodyLength > this.#buf.length) {
      await this.#rotate();
    }
    const buf = this.#buf;
    buf[this.#used] = bodyLength >>> 8;
    buf[this.#used + 1] = bodyLength & 0xff;
    fill(buf, this.#used + FRAME_LENGTH_SIZE);
    this.#used += FRAME_LENGTH_SIZE + bodyLength;
    this.#appended += FRAME_LENGTH_SIZE + bodyLength;
  }

  /** Writes out everything appended; resolves once the socket took it all. */
  async flush(): Promise<void> {
    await this.#rotate();
    await this.#settle();
  }

  /** Waits for the previous write, then starts writing the current buffer. */
  async #rotate(): Promise<void> {
    await this.#settle();
    if (this.#used === 0) return;
    const full = this.#buf.subarray(0, this.#used);
    this.#buf = this.#spare ?? new Uint8Array(this.#buf.length);
    this.#spare = undefined;
    this.#used = 0;
    const write = writeAll(this.#dst, full).then(() => {
      this.#written += full.length;
      this.#spare = new Uint8Array(full.buffer);
    });
    write.catch(() => {}); // observed by the next #settle()
    this.#pending = write;
  }

  async #settle(): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    await pending;
  }
}
