/**
 * One writer at a time between the scanner and the puller. The puller
 * renames a file into place and then stores its record; a scan that looked
 * at the path in between would take dsync's own write for a user's edit.
 * Both therefore run those steps under this gate (the scanner for a whole
 * pass, the puller only around rename-and-store), in arrival order.
 * @module
 */

/** A first-come, first-served async mutex. */
export class ApplyGate {
  #tail: Promise<unknown> = Promise.resolve();
  #held = 0;

  /** True while some task holds or waits for the gate. */
  get busy(): boolean {
    return this.#held > 0;
  }

  /** Runs `fn` once every earlier task is done; resolves or rejects with it. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.#held++;
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => this.#held--,
      () => this.#held--,
    );
    return result;
  }
}
