/**
 * Sends `Availability` for the pulls in progress: when a pull first holds
 * a chunk, then at most once per interval while it grows (a 1 GiB file is
 * 16,000 chunks; one message per chunk per peer would cost more than it
 * saves), and at once, with no ranges, when a pull that was announced
 * ends. A peer that connects meanwhile is given the current state.
 * @module
 */

import type { Availability } from "../../protocol/mod.ts";
import type { PartialFile, PartialFiles } from "./partial_files.ts";

/** Default least time between two announcements of one file (ms). */
export const ANNOUNCE_INTERVAL_MS = 250;

/** Options of {@linkcode AvailabilityAnnouncer}. */
export interface AnnouncerOptions {
  readonly files: PartialFiles;
  /** Sends one message to every peer that takes it. */
  readonly broadcast: (msg: Availability) => void;
  readonly intervalMs?: number;
}

/** Announces the pulls of `files`; see the module comment. */
export class AvailabilityAnnouncer {
  readonly #o: AnnouncerOptions;
  readonly #interval: number;
  readonly #dirty = new Set<PartialFile>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: AnnouncerOptions) {
    this.#o = options;
    this.#interval = Math.max(1, options.intervalMs ?? ANNOUNCE_INTERVAL_MS);
    options.files.listen((file, event) => {
      if (event === "grew") this.#grew(file);
      else this.#ended(file);
    });
  }

  /** The current state of every announced pull (for a peer that just came). */
  snapshot(): Availability[] {
    const out: Availability[] = [];
    for (const file of this.#o.files.all()) {
      if (file.heldCount > 0) out.push(file.availability());
    }
    return out;
  }

  /** Stops the timer; later changes are not sent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty.clear();
  }

  #grew(file: PartialFile): void {
    if (this.#closed) return;
    if (!file.announced) {
      this.#send(file);
      return;
    }
    this.#dirty.add(file);
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#flush(), this.#interval);
    Deno.unrefTimer(this.#timer);
  }

  #ended(file: PartialFile): void {
    this.#dirty.delete(file);
    if (this.#closed || !file.announced) return;
    this.#o.broadcast({
      type: "availability",
      path: file.target.path,
      hash: file.target.hash,
      ranges: [],
    });
  }

  #flush(): void {
    this.#timer = undefined;
    const files = [...this.#dirty];
    this.#dirty.clear();
    for (const file of files) this.#send(file);
  }

  #send(file: PartialFile): void {
    file.announced = true;
    this.#o.broadcast(file.availability());
  }
}
