/** An in-memory duplex byte pipe for handshake tests. */
import type { HandshakeIO } from "../../src/crypto/handshake.ts";

/** Thrown by `readExact` when the writing side has closed. */
export class PipeClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipeClosedError";
  }
}

/** One direction: bytes written are queued until read. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;
  #waiter: (() => void) | undefined;

  push(bytes: Uint8Array): void {
    if (this.#closed) throw new PipeClosedError("Write to a closed pipe");
    this.#chunks.push(bytes.slice());
    this.#buffered += bytes.length;
    this.#wake();
  }

  close(): void {
    this.#closed = true;
    this.#wake();
  }

  async readExact(n: number): Promise<Uint8Array> {
    while (this.#buffered < n) {
      if (this.#closed) {
        throw new PipeClosedError(
          `Pipe closed with ${this.#buffered} of ${n} bytes`,
        );
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const out = new Uint8Array(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, n - offset);
      out.set(chunk.subarray(0, take), offset);
      offset += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#buffered -= n;
    return out;
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** A HandshakeIO end with a close() that ends the other side's reads. */
export interface PipeEnd extends HandshakeIO {
  close(): void;
}

/** Two connected ends: what `a` writes, `b` reads, and the other way round. */
export function duplexPipe(): [PipeEnd, PipeEnd] {
  const aToB = new ByteQueue();
  const bToA = new ByteQueue();
  const end = (out: ByteQueue, inn: ByteQueue): PipeEnd => ({
    write: (bytes) => Promise.resolve(out.push(bytes)),
    readExact: (n) => inn.readExact(n),
    close: () => {
      out.close();
      inn.close();
    },
  });
  return [end(aToB, bToA), end(bToA, aToB)];
}

/** A handshake message with its 2-byte big-endian length, as sent. */
export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/** Reads one length-prefixed handshake message from `end`. */
export async function readFrame(end: PipeEnd): Promise<Uint8Array> {
  const prefix = await end.readExact(2);
  return await end.readExact((prefix[0]! << 8) | prefix[1]!);
}
