/**
 * Watching the folder: `Deno.watchFs` events turned into coalesced batches
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
export {
  DEFAULT_FALLBACK_INTERVAL_MS,
  type EventSource,
  FolderWatcher,
  type FolderWatcherOptions,
  type WatchFs,
} from "./folder_watcher.ts";
