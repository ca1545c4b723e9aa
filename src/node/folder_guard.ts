/**
 * The folder guard: tells "the folder disappeared" apart from "every file was
 * deleted". It remembers which directory the folder and its `.dsync/` were
 * when the node took the folder lock, and every scan asks it before
 * committing anything. An unmounted, moved or replaced folder trips it: the
 * scan records nothing, and the node stops instead of sending every file's
 * deletion to its peers (Syncthing's `.stfolder` marker does the same job).
 *
 * Identity is the device and inode of each directory. Where the platform
 * gives neither, the guard falls back to the lock file: `.dsync/lock` must
 * still exist and hold this process's pid (as {@linkcode FolderLock} wrote
 * it); a lock file that cannot be read (Windows keeps a locked file from
 * other handles) counts as ours.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  FolderUnavailableError,
  IGNORE_FILE,
  LOCK_FILE,
  STATE_DIR,
} from "../index/mod.ts";

const log = getLogger(["dsync", "node", "folder_guard"]);

/** How often a running node looks at its folder between scans, in ms. */
export const FOLDER_CHECK_INTERVAL_MS = 1000;

/** Which directory an entry is: its device and inode. */
export interface DirId {
  readonly dev: number;
  readonly ino: number;
}

/** What one look at a path found. */
export type EntrySighting =
  | { readonly kind: "dir"; readonly id: DirId | undefined }
  | { readonly kind: "missing" }
  | { readonly kind: "not-dir" }
  | { readonly kind: "error"; readonly message: string };

/** What the lock file held: a pid, or why there is none. */
export type LockSighting = number | "missing" | "unreadable" | "no-pid";

/** One look at the folder root, its `.dsync/` and (in fallback mode) the lock. */
export interface FolderSighting {
  readonly root: EntrySighting;
  readonly state: EntrySighting;
  /** Looked at only when the platform has no inode numbers. */
  readonly lock?: LockSighting;
}

/** What the guard remembers from the start. */
export interface FolderBaseline {
  /** Undefined where the platform gives no device and inode. */
  readonly root: DirId | undefined;
  readonly state: DirId | undefined;
  /** The pid the lock file must hold in fallback mode. */
  readonly pid: number;
}

/** The folder is the one the node started on, or what was seen instead. */
export type FolderVerdict =
  | { readonly intact: true }
  | { readonly intact: false; readonly seen: string };

const INTACT: FolderVerdict = Object.freeze({ intact: true });

function describeId(id: DirId): string {
  return `device ${id.dev}, inode ${id.ino}`;
}

function judgeEntry(
  name: string,
  expected: DirId | undefined,
  seen: EntrySighting,
): string | undefined {
  switch (seen.kind) {
    case "missing":
      return `${name} no longer exists`;
    case "not-dir":
      return `${name} is no longer a directory`;
    case "error":
      return `${name} cannot be read (${seen.message})`;
    case "dir":
      if (expected === undefined || seen.id === undefined) return undefined;
      if (expected.dev === seen.id.dev && expected.ino === seen.id.ino) {
        return undefined;
      }
      return `${name} is another directory now (${describeId(seen.id)}; was ${
        describeId(expected)
      })`;
  }
}

/**
 * Whether `seen` is still the folder of `baseline`: both directories exist
 * and, where the platform has inodes, are the same ones; without inodes the
 * lock file still holds our pid. Pure.
 */
export function judgeFolder(
  baseline: FolderBaseline,
  seen: FolderSighting,
): FolderVerdict {
  const problem = judgeEntry("the folder", baseline.root, seen.root) ??
    judgeEntry(STATE_DIR, baseline.state, seen.state);
  if (problem !== undefined) return { intact: false, seen: problem };
  if (usesLockFallback(baseline)) {
    const lock = seen.lock ?? "unreadable";
    const name = `${STATE_DIR}/${LOCK_FILE}`;
    if (lock === "missing") {
      return { intact: false, seen: `${name} no longer exists` };
    }
    if (lock === "no-pid") {
      return { intact: false, seen: `${name} holds no pid` };
    }
    if (typeof lock === "number" && lock !== baseline.pid) {
      return {
        intact: false,
        seen: `${name} holds pid ${lock}, not ours (${baseline.pid})`,
      };
    }
  }
  return INTACT;
}

/** True when the baseline has no inodes to compare, so the lock file decides. */
export function usesLockFallback(baseline: FolderBaseline): boolean {
  return baseline.root === undefined || baseline.state === undefined;
}

/** The one line a tripped guard reports. */
export function folderGoneMessage(folder: string, seen: string): string {
  return `Folder ${folder} is gone or was replaced (unmounted or moved?): ${seen}; stopped without sending any deletions`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sightEntry(path: string, follow: boolean): EntrySighting {
  let info: Deno.FileInfo;
  try {
    info = follow ? Deno.statSync(path) : Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
    if (err instanceof Deno.errors.NotADirectory) return { kind: "missing" };
    return { kind: "error", message: errorMessage(err) };
  }
  if (!info.isDirectory) return { kind: "not-dir" };
  const id = info.dev === null || info.ino === null
    ? undefined
    : { dev: info.dev, ino: info.ino };
  return { kind: "dir", id };
}

function sightLock(path: string): LockSighting {
  let content: string;
  try {
    content = Deno.readTextFileSync(path);
  } catch (err) {
    return err instanceof Deno.errors.NotFound ? "missing" : "unreadable";
  }
  const pid = content.trim();
  return /^[1-9][0-9]{0,9}$/.test(pid) ? Number(pid) : "no-pid";
}

/**
 * Looks at `folder` on disk. The root is followed if it is a symlink (the
 * folder is what it points to); `.dsync` must be a real directory.
 */
export function sightFolder(
  folder: string,
  withLock: boolean,
  stateRoot = folder,
): FolderSighting {
  const stateDir = `${stateRoot}/${STATE_DIR}`;
  return {
    root: sightEntry(folder, true),
    state: sightEntry(stateDir, false),
    ...(withLock ? { lock: sightLock(`${stateDir}/${LOCK_FILE}`) } : {}),
  };
}

/** Options of {@linkcode FolderGuard.capture}. */
export interface FolderGuardOptions {
  /** The pid the lock file holds (default `Deno.pid`). */
  readonly pid?: number;
  /** Looks at the folder (default {@linkcode sightFolder}); for tests. */
  readonly sight?: (folder: string, withLock: boolean) => FolderSighting;
  /** Where `.dsync/` is (default: in the folder; `--state-dir` moves it). */
  readonly stateRoot?: string;
}

/**
 * Guards one folder for the life of a node. Once tripped it stays tripped:
 * every later {@linkcode check} throws the same error, and
 * {@linkcode signal} is aborted.
 */
export class FolderGuard {
  readonly folder: string;
  readonly #baseline: FolderBaseline;
  readonly #sight: (folder: string, withLock: boolean) => FolderSighting;
  readonly #tripped = new AbortController();
  #error: FolderUnavailableError | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    folder: string,
    baseline: FolderBaseline,
    sight: (folder: string, withLock: boolean) => FolderSighting,
  ) {
    this.folder = folder;
    this.#baseline = baseline;
    this.#sight = sight;
  }

  /**
   * Remembers what `folder` and its `.dsync/` are now. Call it once the
   * folder lock is held (the lock creates `.dsync/` and writes the pid).
   * @throws {FolderUnavailableError} when either is not a directory.
   */
  static capture(
    folder: string,
    options: FolderGuardOptions = {},
  ): FolderGuard {
    const sight = options.sight ??
      ((f: string, withLock: boolean) =>
        sightFolder(f, withLock, options.stateRoot));
    const seen = sight(folder, false);
    const { root, state } = seen;
    const problem = judgeEntry("the folder", undefined, root) ??
      judgeEntry(STATE_DIR, undefined, state);
    if (problem !== undefined) {
      throw new FolderUnavailableError(`Cannot guard ${folder}: ${problem}`);
    }
    const baseline: FolderBaseline = {
      root: root.kind === "dir" ? root.id : undefined,
      state: state.kind === "dir" ? state.id : undefined,
      pid: options.pid ?? Deno.pid,
    };
    return new FolderGuard(folder, baseline, sight);
  }

  /** Aborted when the guard trips. */
  get signal(): AbortSignal {
    return this.#tripped.signal;
  }

  /** The error the guard tripped with, if it did. */
  get error(): FolderUnavailableError | undefined {
    return this.#error;
  }

  /**
   * Looks at the folder; does nothing while it is the one captured.
   * @throws {FolderUnavailableError} when it is gone or replaced (now or before).
   */
  check(): void {
    if (this.#error !== undefined) throw this.#error;
    const verdict = judgeFolder(
      this.#baseline,
      this.#sight(this.folder, usesLockFallback(this.#baseline)),
    );
    if (verdict.intact) return;
    this.#error = new FolderUnavailableError(
      folderGoneMessage(this.folder, verdict.seen),
    );
    // The node reports the error once, when it has stopped.
    log.debug("Folder guard tripped: {seen}", { seen: verdict.seen });
    this.#tripped.abort(this.#error);
    throw this.#error;
  }

  /** Also checks every `intervalMs`, so that the node stops between scans. */
  watch(intervalMs = FOLDER_CHECK_INTERVAL_MS): void {
    if (this.#timer !== undefined || this.#error !== undefined) return;
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch {
        this.close();
      }
    }, intervalMs);
  }

  /** Stops the periodic checks. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * With `--state-dir` the folder holds no `.dsync/` whose absence would tell
 * an unmounted disk from an emptied folder, and the index (elsewhere) still
 * lists every file: a scan of an empty mount point would send all their
 * deletions. The one line refusing a folder that lists no entry (the
 * `.dsyncignore` dsync writes aside) while its index holds `indexed` live
 * entries, or undefined when it may be scanned. Pure.
 */
export function emptiedFolderProblem(
  folder: string,
  rootEntries: readonly string[],
  indexed: number,
): string | undefined {
  if (indexed === 0) return undefined;
  if (rootEntries.some((name) => name !== IGNORE_FILE)) return undefined;
  return `Folder ${folder} is empty but its index holds ${indexed} ${
    indexed === 1 ? "entry" : "entries"
  }: is its disk mounted? Stopped without sending any deletions (if you emptied it on purpose, put any file in it and start dsync again)`;
}

/** The folder is empty while its index (in `--state-dir`) holds entries. */
export class EmptiedFolderError extends FolderUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = "EmptiedFolderError";
  }
}

/**
 * Refuses a folder that looks unmounted; see {@linkcode emptiedFolderProblem}.
 * @throws {EmptiedFolderError} naming the folder and the count.
 */
export async function checkNotEmptied(
  folder: string,
  indexed: number,
): Promise<void> {
  if (indexed === 0) return;
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    names.push(entry.name);
    if (entry.name !== IGNORE_FILE) break;
  }
  const problem = emptiedFolderProblem(folder, names, indexed);
  if (problem !== undefined) throw new EmptiedFolderError(problem);
}
