/**
 * A process-wide cap on file-system calls of one kind that run on the
 * runtime's blocking thread pool at once. Each asynchronous call holds a
 * pool thread while the kernel works; without a cap, a few groups of small
 * files put hundreds of creates or fsyncs in flight, and the pool started
 * a thread for each.
 * @module
 */

/** Runs calls with at most `limit` of them in flight, the rest in order. */
export class BlockingCalls {
  readonly limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new RangeError(`A limit of ${limit} calls in flight`);
    }
    this.limit = limit;
  }

  /** Calls now in flight. */
  get running(): number {
    return this.#running;
  }

  /** Runs `call` once fewer than `limit` are in flight. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    while (this.#running >= this.limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await call();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
