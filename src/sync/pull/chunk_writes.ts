/**
 * Chunks of a big file that arrive in any order (several peers, each
 * receiver its own chunk order: `../swarm/chunk_order.ts`), written to the
 * `.part` at their offsets. They are queued until 1 MiB is (or the fill
 * asks for a flush), then sorted and written, adjacent chunks as one
 * block of up to 1 MiB: every write is a round trip through the runtime's
 * I/O threads, which a busy event loop makes slow (written as they came,
 * a loopback pull wrote several times as many blocks).
 * @module
 */

/** Where the blocks go (a `ChunkSink` fits). */
export interface BlockSink {
  write(offset: number, data: Uint8Array): Promise<void>;
}

/** Bytes written to a sink at once, at most. */
export const WRITE_BLOCK = 1 << 20;

/** Pieces queued that start a write however few bytes they hold (tiny chunks). */
const KICK_PIECES = 256;

interface Piece {
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Writes of one fill; see the module comment. */
export class ChunkWrites {
  readonly #sink: BlockSink;
  readonly #settled: (bytes: number) => void;
  readonly #release: (data: Uint8Array) => void;
  #queue: Piece[] = [];
  #queued = 0;
  /** Write what is queued even below a block (until the queue is empty). */
  #force = false;
  #busy = false;
  #idle: Promise<void> = Promise.resolve();
  #failure: Error | undefined;
  #closed = false;
  #scratch: Uint8Array | undefined;

  /**
   * `settled` is told of the bytes of each write done, and of a failure
   * (0); `release` is given each piece's data once it is written (or
   * dropped), to reuse its buffer.
   */
  constructor(
    sink: BlockSink,
    settled: (bytes: number) => void,
    release: (data: Uint8Array) => void = () => {},
  ) {
    this.#sink = sink;
    this.#settled = settled;
    this.#release = release;
  }

  /** Pieces queued and not yet being written. */
  get count(): number {
    return this.#queue.length;
  }

  /** The error of a write that failed (later ones are not tried). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Bytes queued and not yet being written. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues `data` (whole verified chunks) for `offset`. */
  add(offset: number, data: Uint8Array): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#queue.push({ offset, data });
    this.#queued += data.length;
    if (this.#queued >= WRITE_BLOCK || this.#queue.length >= KICK_PIECES) {
      this.#kick();
    }
  }

  /** Starts writing what is queued, however little. */
  flush(): void {
    if (this.#queue.length === 0) return;
    this.#force = true;
    this.#kick();
  }

  /** Resolves once everything queued is written; throws a write's failure. */
  async drain(): Promise<void> {
    this.flush();
    while (this.#busy) await this.#idle;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Drops what is queued and waits for the write under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    while (this.#busy) await this.#idle;
  }

  #kick(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#idle = this.#run();
  }

  async #run(): Promise<void> {
    try {
      while (
        this.#queue.length > 0 && !this.#closed &&
        (this.#force || this.#queued >= WRITE_BLOCK ||
          this.#queue.length >= KICK_PIECES)
      ) {
        const batch = this.#queue.sort((a, b) => a.offset - b.offset);
        this.#queue = [];
        this.#queued = 0;
        for (let i = 0; i < batch.length && !this.#closed;) {
          let end = i + 1;
          let bytes = batch[i]!.data.length;
          while (
            end < batch.length &&
            batch[end]!.offset === batch[end - 1]!.offset +
                batch[end - 1]!.data.length &&
            bytes + batch[end]!.data.length <= WRITE_BLOCK
          ) {
            bytes += batch[end]!.data.length;
            end++;
          }
          await this.#sink.write(batch[i]!.offset, this.#join(batch, i, end));
          for (let k = i; k < end; k++) this.#release(batch[k]!.data);
          this.#settled(bytes);
          i = end;
        }
      }
      if (this.#queue.length === 0) this.#force = false;
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err));
      this.#queue = [];
      this.#queued = 0;
      this.#settled(0);
    } finally {
      this.#busy = false;
    }
  }

  /** The data of `batch[from … to)`, adjacent: one view, or copied into one block. */
  #join(batch: readonly Piece[], from: number, to: number): Uint8Array {
    if (to === from + 1) return batch[from]!.data;
    this.#scratch ??= new Uint8Array(WRITE_BLOCK);
    let at = 0;
    for (let i = from; i < to; i++) {
      this.#scratch.set(batch[i]!.data, at);
      at += batch[i]!.data.length;
    }
    return this.#scratch.subarray(0, at);
  }
}
