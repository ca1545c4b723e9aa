/**
 * What changed in the folder, and who changed it: every record the index
 * stores gets a sequence number, so reading the index from the last
 * sequence seen gives every change once, local edits and peers' changes
 * alike. A path the engine applied for a peer (`applied`) is that peer's
 * change; any other is an edit made here, but for a folder that appeared
 * here within seconds of a peer's file below it: the pull made it (its
 * parents are created with the file, and the scanner may record them
 * before the peer's own record of the folder is applied), and the peer has
 * that folder too. The feed keeps the last 200 for
 * the status page, the conflict copies of the folder, and turns bursts of
 * changes into log lines: one a change for a few, one summary for many.
 * @module
 */
import type { IndexStore, StoredChange } from "../index/mod.ts";
import { BurstTally, DETAILED_BURST } from "./burst_tally.ts";
import type { Change } from "./change.ts";

export { DETAILED_BURST };
export type { Change };

/** A conflict copy and the path of the file it lost to. */
export interface ConflictCopy {
  readonly path: string;
  readonly original: string;
}

/** How many changes the feed keeps. */
export const RECENT_CHANGES = 200;
/** A folder added here this close to a peer's file in it is the peer's. */
export const PARENT_WINDOW_MS = 10_000;

/** The folders above `path`, nearest first. */
function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    out.push(path.slice(0, i));
  }
  return out;
}

const CONFLICT = /\.sync-conflict-\d{8}-\d{6}-[0-9A-Za-z]+/;

/** The path a conflict copy was made from, or undefined for other names. */
export function conflictOriginal(path: string): string | undefined {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  if (!CONFLICT.test(name)) return undefined;
  return path.slice(0, slash + 1) + name.replace(CONFLICT, "");
}

/** What a stored record says happened (pure). */
export function changeOf(
  record: StoredChange,
  device: string,
  time: number,
): Change {
  const total = record.version.reduce((sum, e) => sum + e.counter, 0);
  return {
    time,
    path: record.path,
    device,
    action: record.deleted ? "deleted" : total <= 1 ? "added" : "updated",
    kind: record.kind,
    size: record.deleted ? 0 : record.size,
  };
}

/**
 * The log lines of one burst of changes (pure): per device, one line a
 * change when there are few ("beta: updated notes/plan.md (12 KB)"), one
 * summary line when there are many ("beta: 533 changes received, 210 MB,
 * 4.1 s").
 */
export function describeBurst(
  changes: readonly Change[],
  durationMs: number,
): string[] {
  const tally = new BurstTally();
  for (const change of changes) tally.add(change);
  return tally.lines(durationMs);
}

/**
 * Pages of 1,000 records a poll reads at most: the rest comes at the next
 * poll (four a second). Each page's changes are made at once; 50 pages
 * made 50,000 at a time during a large initial sync.
 */
export const PAGES_PER_POLL = 10;

/** Options of {@linkcode ChangeFeed}. */
export interface ChangeFeedOptions {
  readonly store: IndexStore;
  /**
   * The names of the peers whose changes were applied here at the paths of
   * `records`, by path, in one call (one lookup per record was 3.6 s of a
   * receiver's main thread for 100,000 files); "a peer" for a path left out.
   */
  readonly devicesOf: (
    records: readonly StoredChange[],
  ) => ReadonlyMap<string, string>;
  /** Receives the log lines of each burst once it is over. */
  readonly log: (line: string) => void;
  /** A burst ends after this long without changes (default 0.5 s). */
  readonly quietMs?: number;
  readonly now?: () => number;
}

/** Follows the index's sequence; call `poll()` a few times a second. */
export class ChangeFeed {
  readonly #o: ChangeFeedOptions;
  readonly #now: () => number;
  readonly #recent: Change[] = [];
  readonly #conflicts = new Map<string, ConflictCopy>();
  /**
   * Paths applied for a peer, with when (a mark that no record follows
   * expires) and the peer's name if known then.
   */
  readonly #applied = new Map<string, { at: number; device?: string }>();
  /** Folders above a peer's applied paths lately: folder → device, when. */
  readonly #peerParents = new Map<string, { device: string; at: number }>();
  /** Folders added "here" lately, that a peer's file below may claim. */
  readonly #hereFolders = new Map<
    string,
    { change: Change; at: number; burst: BurstTally }
  >();
  #after = 0;
  #burst = new BurstTally();
  #burstStart = 0;
  #burstLast = 0;
  #version = 0;

  constructor(options: ChangeFeedOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    // What the index holds at start is history: it fills the conflict list
    // and is neither a recent change nor logged.
    this.#read((records) => {
      for (const record of records) this.#noteConflict(record);
    }, 100_000);
  }

  /** The engine applied a peer's change (of `device`, if known) at `path`. */
  applied(path: string, device?: string): void {
    this.#applied.set(path, {
      at: this.#now(),
      ...(device === undefined ? {} : { device }),
    });
  }

  /** Reads what the index stored since the last poll; returns the new changes. */
  poll(): Change[] {
    const now = this.#now();
    const fresh: Change[] = [];
    const claims: { path: string; device: string }[] = [];
    this.#read((records) => {
      const unnamed = records.filter((r) => {
        const mark = this.#applied.get(r.path);
        return mark !== undefined && mark.device === undefined;
      });
      const names = unnamed.length === 0
        ? undefined
        : this.#o.devicesOf(unnamed);
      for (const record of records) {
        this.#noteConflict(record);
        const mark = this.#applied.get(record.path);
        this.#applied.delete(record.path);
        const fromPeer = mark !== undefined;
        const device = mark === undefined
          ? "here"
          : mark.device ?? names?.get(record.path) ?? "a peer";
        const change = changeOf(record, device, now);
        fresh.push(change);
        if (fromPeer) {
          claims.push({ path: record.path, device });
        } else if (record.kind === "dir" && change.action === "added") {
          this.#hereFolders.set(record.path, {
            change,
            at: now,
            burst: this.#burst,
          });
        }
      }
    });
    // A mark no record followed (the apply failed) must not make a later
    // local edit of that path the peer's.
    for (const [path, { at }] of this.#applied) {
      if (now - at > 10_000) this.#applied.delete(path);
    }
    this.#claimFolders(fresh, claims, now);
    if (fresh.length > 0) {
      this.#recent.push(...fresh);
      this.#recent.splice(0, Math.max(0, this.#recent.length - RECENT_CHANGES));
      if (this.#burst.size === 0) this.#burstStart = now;
      for (const change of fresh) this.#burst.add(change);
      this.#burstLast = now;
      this.#version++;
    } else if (
      this.#burst.size > 0 &&
      now - this.#burstLast >= (this.#o.quietMs ?? 500)
    ) {
      this.flush();
    }
    return fresh;
  }

  /**
   * Gives the folders added "here" around a peer's file (before or after
   * it, within {@linkcode PARENT_WINDOW_MS}) to that peer, in `fresh` and
   * in what was kept already.
   */
  #claimFolders(
    fresh: Change[],
    claims: readonly { path: string; device: string }[],
    now: number,
  ): void {
    for (const { path, device } of claims) {
      for (const dir of parentsOf(path)) {
        this.#peerParents.set(dir, { device, at: now });
      }
    }
    for (const [dir, { change, at, burst }] of this.#hereFolders) {
      const claim = this.#peerParents.get(dir);
      if (now - at > PARENT_WINDOW_MS) this.#hereFolders.delete(dir);
      if (claim === undefined || Math.abs(claim.at - at) > PARENT_WINDOW_MS) {
        continue;
      }
      this.#hereFolders.delete(dir);
      const theirs: Change = { ...change, device: claim.device };
      const inFresh = fresh.indexOf(change);
      // Counted in the burst with the rest of `fresh`, after this.
      if (inFresh >= 0) fresh[inFresh] = theirs;
      else if (burst === this.#burst) burst.replace(change, theirs);
      const inRecent = this.#recent.indexOf(change);
      if (inRecent >= 0) this.#recent[inRecent] = theirs;
    }
    for (const [dir, { at }] of this.#peerParents) {
      if (now - at > PARENT_WINDOW_MS) this.#peerParents.delete(dir);
    }
  }

  /** Logs the burst in progress (at shutdown, or once it is over). */
  flush(): void {
    if (this.#burst.size === 0) return;
    const lines = this.#burst.lines(this.#burstLast - this.#burstStart);
    this.#burst = new BurstTally();
    for (const line of lines) this.#o.log(line);
  }

  /** Changes so far, oldest first, at most {@linkcode RECENT_CHANGES}. */
  get recent(): readonly Change[] {
    return this.#recent;
  }

  /** Grows with every new change (a cheap "did anything change" test). */
  get version(): number {
    return this.#version;
  }

  /** The conflict copies in the folder now, by path. */
  get conflicts(): ConflictCopy[] {
    return [...this.#conflicts.values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0
    );
  }

  /** Reads at most `pages` pages of 1,000 records; the rest comes next time. */
  #read(
    each: (records: StoredChange[]) => void,
    pages = PAGES_PER_POLL,
  ): void {
    for (let page = 0; page < pages; page++) {
      const records = this.#o.store.changesSince(this.#after, 1000);
      if (records.length === 0) return;
      each(records);
      this.#after = records[records.length - 1]!.sequence;
    }
  }

  #noteConflict(record: StoredChange): void {
    const original = conflictOriginal(record.path);
    if (original === undefined) return;
    if (record.deleted) this.#conflicts.delete(record.path);
    else this.#conflicts.set(record.path, { path: record.path, original });
  }
}
