/**
 * Watching the folder: `Deno.watchFs` events, drained on a worker thread so
 * a busy main thread does not lose them, turned into coalesced batches
 * of paths for targeted rescans, with a periodic full rescan as fallback
 * when the OS watcher is unavailable.
 * @module
 */
export {
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_MAX_PATHS,
  DEFAULT_QUIET_MS,
  EventCoalescer,
  type EventCoalescerOptions,
  type RescanBatch,
} from "./coalescer.ts";
export type { EventSource, WatchFs } from "./event_source.ts";
export {
  DEFAULT_FALLBACK_INTERVAL_MS,
  FolderWatcher,
  type FolderWatcherOptions,
} from "./folder_watcher.ts";
export {
  DEFAULT_MAX_IN_FLIGHT,
  WorkerEventSource,
  type WorkerEventSourceOptions,
  workerWatchFs,
} from "./worker_event_source.ts";
