/**
 * Read handles a responder keeps between chunk requests. A peer pulling a
 * large file asks for its chunks one after another; opening, walking and
 * closing the file for each 64 KiB chunk cost more main-thread time than
 * reading it. A handle is only ever opened after the safe walk of
 * `locateEntry` (real directories, no links), and what is read through it
 * is still checked against the requested hash, so a file renamed, replaced
 * or rewritten meanwhile can at worst cause one miss, never a wrong answer
 * (a file deleted meanwhile may still be served from its handle until the
 * handle is let go: bytes the peer was told about, never other bytes).
 *
 * Few handles, briefly: at most `capacity`, each closed once unused for
 * `idleMs` or when the responder has nothing queued (so that on Windows a
 * file is not held open while its owner wants to replace it).
 * @module
 */

interface Entry {
  readonly file: Deno.FsFile;
  lastUsed: number;
}

/** Options of {@linkcode OpenFiles}. */
export interface OpenFilesOptions {
  /** Handles kept at most (default 8). */
  readonly capacity?: number;
  /** A handle unused this long is closed at the next lookup (default 2 s). */
  readonly idleMs?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
}

/** A small least-recently-used set of open read handles, keyed by path. */
export class OpenFiles {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(options: OpenFilesOptions = {}) {
    this.#capacity = Math.max(1, options.capacity ?? 8);
    this.#idleMs = options.idleMs ?? 2_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Handles open now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The open handle for `key`, if kept and not idle too long. */
  get(key: string): Deno.FsFile | undefined {
    const now = this.#now();
    this.#closeIdle(now);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    entry.lastUsed = now;
    // Re-insert: a Map iterates in insertion order, oldest first.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.file;
  }

  /** Keeps `file` under `key`, closing the least recently used beyond capacity. */
  put(key: string, file: Deno.FsFile): void {
    this.evict(key);
    this.#entries.set(key, { file, lastUsed: this.#now() });
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.evict(oldest);
    }
  }

  /** Closes and forgets the handle under `key`, if any. */
  evict(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    closeQuietly(entry.file);
  }

  /** Closes every handle. */
  clear(): void {
    for (const entry of this.#entries.values()) closeQuietly(entry.file);
    this.#entries.clear();
  }

  #closeIdle(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.lastUsed >= this.#idleMs) this.evict(key);
    }
  }
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // Already closed.
  }
}
