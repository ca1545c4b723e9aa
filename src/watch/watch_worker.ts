/**
 * Worker side of `WorkerEventSource`: runs `Deno.watchFs` on a thread of its
 * own and forwards the events in batches.
 *
 * Why a thread: `Deno.watchFs` hands events to JavaScript through a channel
 * of 16 and drops what does not fit (measured: 2,000 files created while
 * the event loop was busy, 1,014 reported). dsync's main thread is often
 * busy for milliseconds at a time, so a burst of changes there lost events
 * that only the hourly full rescan would find. This thread does nothing but
 * drain that channel.
 *
 * Events on dsync's own files (`.part` files, `.dsync/`), most of what a
 * sync that writes many files raises, end here.
 *
 * Memory stays bounded: at most `maxInFlight` events are sent and not yet
 * acknowledged by the main side. Past that, events are dropped, and once
 * forwarding resumes an `overflow` report follows: everything dropped
 * happened before it, so a full rescan started after it sees every change.
 * @module
 */

// The file, not index/mod.ts: a worker must not load SQLite and BLAKE3.
import { OS_SEP } from "../index/rel_path.ts";
import { isInternalEventPath } from "./internal_path.ts";

/** First message to the worker: what to watch. */
export interface WatchRequest {
  readonly type: "watch";
  readonly folder: string;
  /** The folder as absolute paths the OS may report it under. */
  readonly roots: string[];
  /** Events sent and not acknowledged at most before dropping. */
  readonly maxInFlight: number;
  /**
   * Absolute paths to watch instead of the folder: recursively, and on
   * their own (see `watch_plan.ts`).
   */
  readonly plan?: { readonly recursive: string[]; readonly flat: string[] };
}

/** Later messages to the worker: the main side consumed `count` events. */
export interface WatchAck {
  readonly type: "ack";
  readonly count: number;
}

/** An event as it crosses the thread boundary. */
export interface WatchEvent {
  readonly kind: Deno.FsEvent["kind"];
  readonly paths: string[];
  readonly flag?: Deno.FsEventFlag;
}

/** Messages from the worker. */
export type WatchReport =
  | { readonly type: "ready" }
  | { readonly type: "events"; readonly events: WatchEvent[] }
  | { readonly type: "overflow"; readonly dropped: number }
  | { readonly type: "error"; readonly message: string }
  | { readonly type: "end" };

/** Events gathered before a batch goes out without waiting for a timer. */
const BATCH_EVENTS = 512;

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WatchRequest | WatchAck>) => void) | null;
  postMessage(message: WatchReport): void;
}

class Forwarder {
  readonly #scope: WorkerScope;
  readonly #maxInFlight: number;
  readonly #roots: string[];
  #pending: WatchEvent[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = 0;
  #dropped = 0;

  constructor(scope: WorkerScope, maxInFlight: number, roots: string[]) {
    this.#scope = scope;
    this.#maxInFlight = maxInFlight;
    this.#roots = roots;
  }

  add(event: Deno.FsEvent): void {
    if (
      !event.flag && event.paths.length > 0 &&
      event.paths.every((p) => isInternalEventPath(p, this.#roots, OS_SEP))
    ) return;
    if (this.#dropped > 0 || this.#inFlight >= this.#maxInFlight) {
      this.#dropped++;
      return;
    }
    // Deno reports "no flag" as null, which the type does not say.
    const wire: WatchEvent = !event.flag
      ? { kind: event.kind, paths: event.paths }
      : { kind: event.kind, paths: event.paths, flag: event.flag };
    this.#pending.push(wire);
    this.#inFlight++;
    if (this.#pending.length >= BATCH_EVENTS) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** The main side consumed `count` events: room to forward again. */
  ack(count: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - count);
    // Resume only with room to spare, not one event at a time.
    if (this.#dropped > 0 && this.#inFlight <= this.#maxInFlight / 2) {
      this.flush();
      this.#scope.postMessage({ type: "overflow", dropped: this.#dropped });
      this.#dropped = 0;
    }
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    this.#scope.postMessage({ type: "events", events: this.#pending });
    this.#pending = [];
  }
}

async function watch(
  scope: WorkerScope,
  request: WatchRequest,
  forwarder: Forwarder,
): Promise<void> {
  try {
    const plan = request.plan;
    const watchers = plan === undefined
      ? [Deno.watchFs(request.folder, { recursive: true })]
      : [
        ...(plan.recursive.length > 0
          ? [Deno.watchFs(plan.recursive, { recursive: true })]
          : []),
        Deno.watchFs(plan.flat, { recursive: false }),
      ];
    scope.postMessage({ type: "ready" });
    await Promise.all(watchers.map(async (watcher) => {
      try {
        for await (const event of watcher) forwarder.add(event);
      } finally {
        // One ends (closed, failed): the other goes with it.
        for (const other of watchers) {
          try {
            other.close();
          } catch {
            // Closed already.
          }
        }
      }
    }));
    forwarder.flush();
    scope.postMessage({ type: "end" });
  } catch (err) {
    forwarder.flush();
    scope.postMessage({
      type: "error",
      message: err instanceof Error ? err.message : String(err),
    });
  }
}

const scope = self as unknown as WorkerScope;
let forwarder: Forwarder | undefined;
scope.onmessage = (ev) => {
  const message = ev.data;
  if (message.type === "ack") {
    forwarder?.ack(message.count);
  } else if (forwarder === undefined) {
    forwarder = new Forwarder(scope, message.maxInFlight, message.roots);
    void watch(scope, message, forwarder);
  }
};
