/**
 * One change of the folder as the status page, `dsync status --json` and
 * the log show it (made by `change_feed.ts`, counted by `burst_tally.ts`).
 * @module
 */

/** One change as the page and `dsync status --json` show it. */
export interface Change {
  /** Epoch ms it was seen. */
  readonly time: number;
  readonly path: string;
  /** The device's name, or "here" for an edit made on this device. */
  readonly device: string;
  readonly action: "added" | "updated" | "deleted";
  readonly kind: "file" | "dir" | "symlink";
  readonly size: number;
}
