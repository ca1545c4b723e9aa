/**
 * The scanner: brings the index in line with the folder on disk. A full
 * scan walks everything (this is also how changes made while dsync was
 * stopped are found at start); `scanPaths` rescans only what the watcher
 * reported. Only entries whose size, mtime, inode or exec bit changed are
 * read again. Symlinks are recorded, never followed.
 *
 * Decisions: a file whose content, exec bit and kind are unchanged but whose
 * mtime or inode moved (a `touch`, an editor's atomic save of the same bytes)
 * only gets its stored mtime and inode updated, with no new version and no
 * new sequence. Directory mtimes are not tracked. A path that becomes
 * ignored keeps its record as it was (it is not deleted on peers).
 */

import { getLogger } from "@logtape/logtape";
import type { IgnoreRules } from "./ignore_rules.ts";
import { joinRel, toOsPath, toRelPath } from "./rel_path.ts";
import type { FileHasher, PassContext, ScanSummary } from "./scan_context.ts";
import { ScanPass } from "./scan_pass.ts";
import type { IndexStore } from "./store.ts";
import { STATE_DIR } from "./state_dir.ts";

export type { FileHasher, ScanSummary } from "./scan_context.ts";
export { emptyScanSummary } from "./scan_context.ts";

const log = getLogger(["dsync", "index", "scanner"]);

/**
 * The folder or its `.dsync` directory is missing: the scan is refused so
 * that an unmounted or replaced folder is not recorded as all deleted.
 */
export class FolderUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FolderUnavailableError";
  }
}

/** Options of {@linkcode Scanner}. */
export interface ScannerOptions {
  /** Absolute path of the synced folder. */
  readonly folder: string;
  readonly store: IndexStore;
  readonly hasher: FileHasher;
  readonly ignore: IgnoreRules;
  /** Wall clock in epoch ms, compared with file mtimes; defaults to `Date.now`. */
  readonly now?: () => number;
  /**
   * Files hashed at once (default 32: small files are read on this thread,
   * and a cold disk answers many reads in flight faster than one at a time).
   */
  readonly concurrency?: number;
  /**
   * A file whose mtime lies within this many ms of its hashing is hashed
   * again at the next scan, in case a write in the same timestamp tick went
   * unnoticed (default 50).
   */
  readonly racyWindowMs?: number;
  /**
   * Throws (a {@linkcode FolderUnavailableError}) when the folder is no
   * longer the one indexed: unmounted, moved away, replaced. Asked before
   * every scan and before every write a scan makes to the index, so a
   * vanished folder is never recorded as all deleted. The scanner itself
   * always checks that `.dsync` is still a directory, after this.
   */
  readonly checkFolder?: () => void;
  /**
   * Whether the folder must hold `.dsync/` to be scanned (default true):
   * false when the state lives elsewhere (`--state-dir`), where only the
   * folder guard tells an unmounted folder from an emptied one.
   */
  readonly stateInFolder?: boolean;
  /**
   * Told each time a scan has written records to the index, also in the
   * middle of a scan (every 1,000 records or {@linkcode commitEveryMs}), so
   * that peers can start on a large folder before it is all indexed.
   */
  readonly onCommit?: () => void;
  /**
   * Told of each dsync `.part` file a pass lists (`.<name>.dsync-<16
   * hex>.part`, OS path): they are never indexed, and the owner removes
   * those nothing is writing or keeping.
   */
  readonly onPartFile?: (os: string) => void;
  /** Longest time found records wait to be written, in ms (default 250). */
  readonly commitEveryMs?: number;
}

/** The paths not below another path of the list (their walks cover the rest). */
function coveringRoots(paths: readonly string[]): string[] {
  const roots = new Set<string>();
  for (const path of [...new Set(paths)].sort()) {
    if (roots.has("")) break;
    let covered = false;
    for (
      let cut = path.indexOf("/");
      cut >= 0;
      cut = path.indexOf("/", cut + 1)
    ) {
      if (roots.has(path.slice(0, cut))) {
        covered = true;
        break;
      }
    }
    if (!covered) roots.add(path);
  }
  return [...roots];
}

type Resolved =
  | {
    readonly state: "found";
    readonly os: string;
    readonly info: Deno.FileInfo;
  }
  | { readonly state: "missing" }
  | { readonly state: "error"; readonly error: unknown };

/** Scans a folder into its index. Scans run one at a time, in call order. */
export class Scanner {
  readonly #folder: string;
  readonly #ctx: PassContext;
  readonly #guard: (() => void) | undefined;
  readonly #stateInFolder: boolean;
  #queue: Promise<unknown> = Promise.resolve();
  #running = false;

  constructor(opts: ScannerOptions) {
    this.#folder = opts.folder;
    this.#guard = opts.checkFolder;
    this.#stateInFolder = opts.stateInFolder ?? true;
    this.#ctx = {
      store: opts.store,
      hasher: opts.hasher,
      ignore: opts.ignore,
      now: opts.now ?? Date.now,
      concurrency: Math.max(1, opts.concurrency ?? 32),
      racyWindowMs: opts.racyWindowMs ?? 50,
      racy: new Set<string>(),
      unreadable: new Set<string>(),
      invalidNames: new Set<string>(),
      checkFolder: () => this.#checkFolder(),
      ...(opts.onCommit === undefined ? {} : { onCommit: opts.onCommit }),
      ...(opts.onPartFile === undefined ? {} : { onPartFile: opts.onPartFile }),
      commitEveryMs: opts.commitEveryMs ?? 250,
    };
  }

  /** Paths that could not be read at their last try, skipped until they can. */
  get unreadable(): string[] {
    return [...this.#ctx.unreadable].sort();
  }

  /** True while a scan runs (it hashes what changed). */
  get running(): boolean {
    return this.#running;
  }

  /** Names that are not valid UTF-8, found in the last listing of their directory. */
  get invalidNames(): string[] {
    return [...this.#ctx.invalidNames].sort();
  }

  /** Scans the whole folder. */
  scan(): Promise<ScanSummary> {
    return this.#exclusive(async (pass) => {
      await pass.walk("", this.#folder, this.#ctx.store.statMap(""));
    });
  }

  /**
   * Rescans the given paths (relative to the folder; OS or canonical form):
   * each is looked at again, a directory is walked, a missing path (and
   * everything recorded below it) becomes a tombstone.
   */
  scanPaths(relPaths: readonly string[]): Promise<ScanSummary> {
    const roots = coveringRoots(relPaths.map((p) => toRelPath(p)));
    return this.#exclusive(async (pass) => {
      for (const rel of roots) await this.#rescan(pass, rel);
    });
  }

  /**
   * Refuses to scan (or commit a scan of) a folder that is not there or
   * lost its `.dsync` directory (unmounted, replaced): every file would
   * look deleted.
   */
  #checkFolder(): void {
    this.#guard?.();
    if (!this.#stateInFolder) return;
    const marker = toOsPath(this.#folder, STATE_DIR);
    try {
      if (Deno.lstatSync(marker).isDirectory) return;
    } catch (err) {
      throw new FolderUnavailableError(
        `Cannot scan ${this.#folder}: ${marker} is not readable (${
          (err as Error).message
        })`,
        { cause: err },
      );
    }
    throw new FolderUnavailableError(
      `Cannot scan ${this.#folder}: ${marker} is not a directory`,
    );
  }

  async #rescan(pass: ScanPass, rel: string): Promise<void> {
    if (rel === "") {
      await pass.walk("", this.#folder, this.#ctx.store.statMap(""));
      return;
    }
    const { ignore, store } = this.#ctx;
    const resolved = await this.#resolve(rel);
    if (resolved.state === "error") {
      pass.summary.errors++;
      log.warn("Cannot stat {path}: {error}", {
        path: rel,
        error: resolved.error instanceof Error
          ? resolved.error.message
          : String(resolved.error),
      });
      return;
    }
    if (resolved.state === "found") {
      const isDir = resolved.info.isDirectory;
      if (ignore.ignores(rel, isDir)) return;
      const kind = await pass.visit(
        rel,
        resolved.os,
        store.getStat(rel),
        resolved.info,
      );
      if (kind === "error") return;
      if (kind === "dir") {
        await pass.walk(rel, resolved.os, store.statMap(rel));
        return;
      }
      if (kind !== "missing") {
        // A file or link now stands where a directory may have been.
        await pass.drain();
        for (const below of store.statMap(rel).values()) pass.tombstone(below);
        return;
      }
    }
    await pass.drain();
    const own = store.getStat(rel);
    if (own !== undefined) pass.tombstone(own);
    for (const below of store.statMap(rel).values()) pass.tombstone(below);
  }

  /**
   * Finds `rel` on disk without following symlinks on the way: every parent
   * must be a real directory. A segment stored as NFC may be NFD on disk
   * (macOS, or files copied from it), so a miss is retried by listing the
   * parent.
   */
  async #resolve(rel: string): Promise<Resolved> {
    let os = this.#folder;
    let current = "";
    const segments = rel.split("/");
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      current = joinRel(current, segment);
      let next = toOsPath(os, segment);
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.lstatSync(next);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          return { state: "error", error: err };
        }
        const onDisk = await this.#findByNfc(os, segment);
        if (onDisk === undefined) return { state: "missing" };
        next = toOsPath(os, onDisk);
        try {
          info = Deno.lstatSync(next);
        } catch (again) {
          if (again instanceof Deno.errors.NotFound) {
            return { state: "missing" };
          }
          return { state: "error", error: again };
        }
      }
      const last = i === segments.length - 1;
      if (!last && !info.isDirectory) return { state: "missing" };
      if (last) return { state: "found", os: next, info };
      os = next;
    }
    return { state: "missing" };
  }

  async #findByNfc(
    dirOs: string,
    segment: string,
  ): Promise<string | undefined> {
    if (segment.normalize("NFD") === segment) return undefined;
    try {
      for await (const entry of Deno.readDir(dirOs)) {
        if (entry.name !== segment && entry.name.normalize("NFC") === segment) {
          return entry.name;
        }
      }
    } catch {
      // Unlistable parent: treat as not found; the lstat error said enough.
    }
    return undefined;
  }

  #exclusive(body: (pass: ScanPass) => Promise<void>): Promise<ScanSummary> {
    const run = this.#queue.then(async () => {
      const started = performance.now();
      this.#checkFolder();
      await this.#ctx.ignore.refresh();
      const pass = new ScanPass(this.#ctx);
      this.#running = true;
      try {
        await body(pass);
        await pass.drain();
      } catch (err) {
        await pass.abandon();
        throw err;
      } finally {
        this.#running = false;
      }
      pass.summary.durationMs = performance.now() - started;
      log.debug("Scan done: {summary}", { summary: pass.summary });
      return pass.summary;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
