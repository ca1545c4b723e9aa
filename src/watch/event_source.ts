/**
 * What the folder watcher reads events from: `Deno.watchFs`, or the same on
 * a worker thread (`worker_event_source.ts`). Apart, so neither side
 * imports the other.
 * @module
 */

/** A stream of file-system events: what `Deno.watchFs` returns. */
export interface EventSource extends AsyncIterable<Deno.FsEvent> {
  close(): void;
  /**
   * Settles once changes are being watched, or watching failed (the
   * iteration then says why). Absent: watching from the start.
   */
  readonly ready?: Promise<void>;
}

/**
 * Starts watching `folder` recursively, or the absolute paths of `plan`
 * (around unreadable subfolders); throws when it cannot.
 */
export type WatchFs = (
  folder: string,
  plan?: { readonly recursive: string[]; readonly flat: string[] },
) => EventSource;
