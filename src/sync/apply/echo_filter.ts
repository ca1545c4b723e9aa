/**
 * Echo suppression: dsync's own writes cause watcher events like a user's
 * edit would. Right after applying a change, the engine calls
 * {@linkcode EchoFilter.remember} with what it left on disk; the scanner or
 * watcher asks {@linkcode EchoFilter.isEcho} with what it sees, and skips the
 * path when it matches. An entry matches while the disk still shows exactly
 * that state (kind, size, mtime, exec bit, and inode/hash when both sides
 * know them), and only until its TTL runs out. A user's change after our
 * write is therefore never taken for our echo when it changes any of those:
 * a `chmod +x` right after a pull changes neither size nor mtime, only the
 * mode, and must still be seen.
 * Entries are not consumed by a match: one write often causes several
 * events. They are dropped at the first mismatch: once the disk showed
 * something else, the path has moved on since our write, and a later
 * return to our state (a file we deleted, re-created and deleted again by
 * the user) is the user's change, not our echo.
 * @module
 */

/** What dsync left at a path; `"absent"` after it removed the entry. */
export type EchoState =
  | {
    readonly kind: "file" | "dir" | "symlink" | "other";
    readonly size: number;
    /** Owner-execute bit (the only mode bit that syncs); false off POSIX. */
    readonly exec: boolean;
    /** Modification time in ms, as `lstat` reports it. */
    readonly mtimeMs: number;
    readonly inode?: number;
    /** BLAKE3 of the content, when the caller knows it. */
    readonly hash?: Uint8Array;
  }
  | "absent";

/** The echo state of an entry from its `lstat` (e.g. `Committed.info`), with its content hash when known. */
export function echoStateOf(info: Deno.FileInfo, hash?: Uint8Array): EchoState {
  return {
    kind: info.isSymlink
      ? "symlink"
      : info.isDirectory
      ? "dir"
      : info.isFile
      ? "file"
      : "other",
    size: info.size,
    exec: ((info.mode ?? 0) & 0o100) !== 0,
    mtimeMs: info.mtime?.getTime() ?? 0,
    ...(info.ino === null ? {} : { inode: info.ino }),
    ...(hash === undefined ? {} : { hash }),
  };
}

/** Options of {@linkcode EchoFilter}. */
export interface EchoFilterOptions {
  /** How long an entry counts, in ms (default 30 s). */
  readonly ttlMs?: number;
  /** Most entries kept; the oldest go first (default 100,000). */
  readonly maxEntries?: number;
  /** Clock in ms; defaults to `Date.now`. */
  readonly now?: () => number;
  /**
   * Told of every path dsync itself changes (what a peer's change did
   * here), with what it left there; without a state for a record stored
   * with nothing changed on disk (merged versions, see `stored`), then
   * with the peer's name when the caller knows it.
   */
  readonly onRemember?: (
    path: string,
    state?: EchoState,
    device?: string,
  ) => void;
}

interface Entry {
  readonly state: EchoState;
  readonly expires: number;
}

/** Remembers dsync's own recent writes, by canonical relative path. */
export class EchoFilter {
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #onRemember:
    | ((path: string, state?: EchoState, device?: string) => void)
    | undefined;
  readonly #entries = new Map<string, Entry>();
  /**
   * Every entry as remembered, oldest first, which is expiry order (the
   * TTL is fixed); one whose path was remembered again since is skipped.
   * Kept apart from the map because taking the first key of a map whose
   * front was deleted over and over walks every deleted slot: at 100,000
   * pulled files that was 2 s of the main thread.
   */
  #order: { path: string; entry: Entry }[] = [];
  #head = 0;

  constructor(options: EchoFilterOptions = {}) {
    this.#ttl = options.ttlMs ?? 30_000;
    this.#max = Math.max(1, options.maxEntries ?? 100_000);
    this.#now = options.now ?? Date.now;
    this.#onRemember = options.onRemember;
  }

  /** Number of entries kept (expired ones may linger until the next call). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records that dsync just left `state` at `path`. */
  remember(path: string, state: EchoState): void {
    const now = this.#now();
    this.#prune(now);
    const entry = { state, expires: now + this.#ttl };
    this.#entries.set(path, entry);
    this.#order.push({ path, entry });
    while (
      this.#entries.size > this.#max && this.#head < this.#order.length
    ) this.#dropOldest();
    this.#onRemember?.(path, state);
  }

  /**
   * A peer's change was stored at `path` with no write to remember as an
   * echo (merged versions, a new directory): told to `onRemember` only,
   * with the name of the peer whose change it is (a merged version equals
   * no peer's record, so it cannot be found later).
   */
  stored(path: string, device?: string): void {
    this.#onRemember?.(path, undefined, device);
  }

  /** True when `observed` at `path` is what dsync itself left there recently. */
  isEcho(path: string, observed: EchoState): boolean {
    this.#prune(this.#now());
    const entry = this.#entries.get(path);
    if (entry === undefined) return false;
    if (sameState(entry.state, observed)) return true;
    this.#entries.delete(path);
    return false;
  }

  /** Drops what is remembered about `path`. */
  forget(path: string): void {
    this.#entries.delete(path);
  }

  #prune(now: number): void {
    while (this.#head < this.#order.length) {
      if (this.#order[this.#head]!.entry.expires > now) break;
      this.#dropOldest();
    }
  }

  /** Drops the oldest remembered entry (when still current) from both. */
  #dropOldest(): void {
    const oldest = this.#order[this.#head];
    if (oldest === undefined) return;
    this.#order[this.#head++] = undefined as never;
    if (this.#entries.get(oldest.path) === oldest.entry) {
      this.#entries.delete(oldest.path);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}

function sameState(a: EchoState, b: EchoState): boolean {
  if (a === "absent" || b === "absent") return a === b;
  if (
    a.kind !== b.kind || a.size !== b.size || a.exec !== b.exec ||
    a.mtimeMs !== b.mtimeMs
  ) return false;
  if (a.inode !== undefined && b.inode !== undefined && a.inode !== b.inode) {
    return false;
  }
  if (a.hash !== undefined && b.hash !== undefined) {
    if (a.hash.length !== b.hash.length) return false;
    for (let i = 0; i < a.hash.length; i++) {
      if (a.hash[i] !== b.hash[i]) return false;
    }
  }
  return true;
}
