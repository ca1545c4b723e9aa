/**
 * Whether a node is paused (`dsync pause`), for the parts that hold their
 * work meanwhile without dropping it: answering a peer's chunk requests
 * waits on {@linkcode PauseSwitch.whilePaused}, announcing checks
 * {@linkcode PauseSwitch.paused}.
 * @module
 */

/** An on/off switch others can wait on. */
export class PauseSwitch {
  #paused = false;
  #waiters: (() => void)[] = [];
  #closed = false;

  get paused(): boolean {
    return this.#paused && !this.#closed;
  }

  /** A promise that resolves once resumed (or closed); undefined when not paused. */
  whilePaused(): Promise<void> | undefined {
    if (!this.paused) return undefined;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Lets every waiter go for good (shutdown). */
  close(): void {
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
