/**
 * `Deno.watchFs` run on a worker thread (see `watch_worker.ts` for why),
 * seen from the main thread as the same kind of event stream. A failure to
 * watch (missing folder, inotify limits) comes out of the iteration as an
 * error; events the worker had to drop come out as one event with the
 * `rescan` flag, which asks for a full rescan like a kernel queue overflow.
 * @module
 */

import { folderRoots } from "./event_path.ts";
import type { EventSource } from "./event_source.ts";
import type { WatchAck, WatchReport, WatchRequest } from "./watch_worker.ts";

/** Default cap on events sent by the worker and not yet consumed here. */
export const DEFAULT_MAX_IN_FLIGHT = 20_000;

/** Consumed events acknowledged in one message, at most. */
const ACK_EVERY = 256;

/** Options of {@linkcode WorkerEventSource}. */
export interface WorkerEventSourceOptions {
  /** Events queued between the threads at most (default 20,000). */
  readonly maxInFlight?: number;
  /** Absolute paths to watch instead of the whole folder (see `watch_plan.ts`). */
  readonly plan?: { readonly recursive: string[]; readonly flat: string[] };
}

type Waiter = {
  resolve: (result: IteratorResult<Deno.FsEvent>) => void;
  reject: (err: Error) => void;
};

const DONE: IteratorResult<Deno.FsEvent> = { done: true, value: undefined };

/** Events under `folder`, recursively, watched on a worker thread. */
export class WorkerEventSource
  implements EventSource, AsyncIterator<Deno.FsEvent> {
  readonly #worker: Worker;
  #queue: Deno.FsEvent[] = [];
  #head = 0;
  #unacked = 0;
  #waiter: Waiter | undefined;
  #error: Error | undefined;
  #ended = false;
  #setReady!: () => void;
  /** Settles once the worker watches the folder, or failed to. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.#setReady = resolve;
  });

  constructor(folder: string, options: WorkerEventSourceOptions = {}) {
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(
        `Cannot use maxInFlight ${maxInFlight}: not a positive integer`,
      );
    }
    this.#worker = new Worker(
      new URL("./watch_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    this.#worker.onmessage = (ev: MessageEvent<WatchReport>) => {
      this.#onReport(ev.data);
    };
    this.#worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#finish(new Error(`the watcher thread failed: ${ev.message}`));
    };
    this.#worker.postMessage(
      {
        type: "watch",
        folder,
        roots: folderRoots(folder),
        maxInFlight,
        ...(options.plan === undefined ? {} : { plan: options.plan }),
      } satisfies WatchRequest,
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<Deno.FsEvent> {
    return this;
  }

  next(): Promise<IteratorResult<Deno.FsEvent>> {
    if (this.#head < this.#queue.length) {
      return Promise.resolve({ done: false, value: this.#take() });
    }
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Deno.FsEvent>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** Stops watching and ends the iteration. Safe to call repeatedly. */
  close(): void {
    if (this.#ended) return;
    this.#worker.terminate();
    this.#queue = [];
    this.#head = 0;
    this.#finish(undefined);
  }

  #take(): Deno.FsEvent {
    const event = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    this.#unacked++;
    if (this.#unacked >= ACK_EVERY || this.#head === 0) {
      if (!this.#ended) {
        this.#worker.postMessage(
          { type: "ack", count: this.#unacked } satisfies WatchAck,
        );
      }
      this.#unacked = 0;
    }
    return event;
  }

  #onReport(report: WatchReport): void {
    if (this.#ended) return;
    switch (report.type) {
      case "ready":
        this.#setReady();
        break;
      case "events":
        // A WatchEvent is an FsEvent without Deno's null flag.
        for (const event of report.events) this.#push(event);
        break;
      case "overflow":
        this.#push({ kind: "other", paths: [], flag: "rescan" });
        break;
      case "error":
        this.#worker.terminate();
        this.#finish(new Error(report.message));
        break;
      case "end":
        this.#worker.terminate();
        this.#finish(undefined);
        break;
    }
  }

  #push(event: Deno.FsEvent): void {
    this.#queue.push(event);
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    waiter.resolve({ done: false, value: this.#take() });
  }

  /** No more events: queued ones are still handed out, then `err` or the end. */
  #finish(err: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#setReady();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) {
      this.#error = err;
    } else if (err === undefined) {
      waiter.resolve(DONE);
    } else {
      waiter.reject(err);
    }
  }
}

/** A `WatchFs` that watches on a worker thread. */
export function workerWatchFs(
  folder: string,
  plan?: { readonly recursive: string[]; readonly flat: string[] },
): EventSource {
  return new WorkerEventSource(folder, plan === undefined ? {} : { plan });
}
