/**
 * A folder's mode as the engine applies it to its own records: which
 * local records a receive-only folder keeps from its peers, and how many
 * such local changes there are (for status requests: the count reads the
 * whole index, so it is kept for a few seconds).
 * @module
 */

import type { FileRecord, IndexStore } from "../index/mod.ts";
import { type FolderMode, isLocalChange, withholds } from "./pull/mod.ts";

/** How long a count of local changes is reused, in ms. */
const COUNT_TTL_MS = 5000;

/** What {@linkcode LocalChanges} reads. */
export interface LocalChangesContext {
  readonly mode: FolderMode;
  readonly store: Pick<IndexStore, "since">;
  readonly remote: {
    recordsFor(path: string): { record: FileRecord }[];
  };
  /** Clock in epoch ms. */
  readonly now: () => number;
}

/** A receive-only folder's local changes; see the module comment. */
export class LocalChanges {
  readonly #c: LocalChangesContext;
  #count: { at: number; count: number } | undefined;

  constructor(context: LocalChangesContext) {
    this.#c = context;
  }

  /** True when `record` is not announced to peers. */
  withholds(record: FileRecord): boolean {
    // A reverted change's tombstone: older than anything, for nobody.
    if (record.version.length === 0) return true;
    return withholds(this.#c.mode, this.#isLocal(record));
  }

  /** The last count (0 until {@linkcode count} ran). */
  get last(): number {
    return this.#count?.count ?? 0;
  }

  /** Forgets the last count (the local changes were reverted). */
  forget(): void {
    this.#count = undefined;
  }

  /**
   * The local changes a receive-only folder keeps from the group: paths
   * whose record no peer has. Reads the whole index (at most every few
   * seconds; {@linkcode last} reports the last count).
   */
  count(): number {
    if (this.#c.mode !== "receive-only") return 0;
    const now = this.#c.now();
    if (this.#count !== undefined && now - this.#count.at < COUNT_TTL_MS) {
      return this.#count.count;
    }
    let count = 0;
    for (let cursor = 0;;) {
      const page = this.#c.store.since(cursor, 1000);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.sequence;
      for (const record of page) {
        if (record.version.length > 0 && this.#isLocal(record)) count++;
      }
    }
    this.#count = { at: now, count };
    return count;
  }

  #isLocal(record: FileRecord): boolean {
    return isLocalChange(
      record,
      this.#c.remote.recordsFor(record.path).map((r) => r.record),
    );
  }
}
