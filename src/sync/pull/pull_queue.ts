/**
 * The puller's paths and where each one is: queued (to be planned when its
 * turn comes), active (a job or a wait for deletes holds it), waiting (no
 * connected peer can serve it; a new peer or announcement requeues it) or
 * due for a retry (a timer requeues it). Holds the wake-up of the puller's
 * loop: anything queued wakes it.
 * @module
 */

/** Delay unit of {@linkcode PullQueue.retryLater}, ms. */
export const RETRY_DELAY_MS = 1000;

/** Paths the puller has to work on; see the module comment. */
export class PullQueue {
  readonly #queue = new Set<string>();
  readonly #active = new Set<string>();
  readonly #waiting = new Set<string>();
  /** Retry timers pending per path. */
  readonly #retryPaths = new Map<string, number>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #wake: (() => void) | undefined;
  #stopped = false;

  /** Paths queued. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Paths held by a job in progress. */
  get active(): number {
    return this.#active.size;
  }

  /** Paths waiting for a peer that can serve them. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Paths with a retry timer pending. */
  get retrying(): number {
    return this.#retryPaths.size;
  }

  /** Paths queued, active or waiting, each counted once. */
  get pending(): number {
    // Without copying the queue (100,000 paths at the start of a big pull;
    // asked at every status tick): count the other two where they differ.
    let n = this.#queue.size;
    for (const path of this.#active) if (!this.#queue.has(path)) n++;
    for (const path of this.#waiting) {
      if (!this.#queue.has(path) && !this.#active.has(path)) n++;
    }
    return n;
  }

  /** True when `path` is queued. */
  has(path: string): boolean {
    return this.#queue.has(path);
  }

  /** Queues `path` again without waking the loop (it is running). */
  requeue(path: string): void {
    this.#queue.add(path);
  }

  /** Queues `paths` (they stop waiting) and wakes the loop. */
  enqueue(paths: Iterable<string>): void {
    for (const path of paths) {
      this.#waiting.delete(path);
      this.#queue.add(path);
    }
    this.kick();
  }

  /** `path` waits for a peer that can serve it. */
  wait(path: string): void {
    this.#waiting.add(path);
  }

  /** Queues every waiting path again (a peer may serve them now). */
  retryWaiting(): void {
    if (this.#waiting.size === 0) return;
    const paths = [...this.#waiting];
    this.#waiting.clear();
    this.enqueue(paths);
  }

  /** Marks `paths` as held by a job. */
  activate(paths: Iterable<string>): void {
    for (const path of paths) this.#active.add(path);
  }

  /** The job holding `paths` ended. */
  release(paths: Iterable<string>): void {
    for (const path of paths) this.#active.delete(path);
  }

  /** Up to `limit` queued paths that no job holds, taken off the queue. */
  take(limit: number): string[] {
    const out: string[] = [];
    for (const path of this.#queue) {
      if (this.#active.has(path)) continue;
      this.#queue.delete(path);
      this.#waiting.delete(path);
      out.push(path);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Queues `path` again after `factor` retry delays. */
  retryLater(path: string, factor = 1): void {
    if (this.#stopped) return;
    this.#retryPaths.set(path, (this.#retryPaths.get(path) ?? 0) + 1);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const left = (this.#retryPaths.get(path) ?? 1) - 1;
      if (left > 0) this.#retryPaths.set(path, left);
      else this.#retryPaths.delete(path);
      this.enqueue([path]);
    }, RETRY_DELAY_MS * factor);
    this.#timers.add(timer);
  }

  /** Wakes the loop if it sleeps. */
  kick(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves at the next {@linkcode kick}. */
  sleep(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** Cancels the retry timers and takes no more; wakes the loop. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#retryPaths.clear();
    this.kick();
  }
}

/**
 * Queues every path where some peer's record differs from ours (after a
 * restart), a page at a time, until `closed`; resolves with how many.
 */
export async function queuePending(
  remote: { pendingPaths(after: string, limit: number): string[] },
  queue: PullQueue,
  closed: () => boolean,
): Promise<number> {
  let after = "";
  let count = 0;
  for (;;) {
    if (closed()) return count;
    const page = remote.pendingPaths(after, 1000);
    queue.enqueue(page);
    count += page.length;
    if (page.length < 1000) return count;
    after = page[page.length - 1]!;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
