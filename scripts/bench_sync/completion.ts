/**
 * Waits until a destination folder holds a manifest byte for byte, cheaply:
 * every `pollMs` (or five times as long as a poll takes) it lists only the
 * folders that still miss files and whose ctime changed, and stats only the
 * files not yet seen at full size; once none is missing it hashes
 * everything. The moment reported is the end of that last cheap poll (not
 * the end of hashing), so the hash check does not count against the tool.
 * @module
 */
import { findMismatches, type Manifest } from "./manifest.ts";

/** How a wait ended. `at` is a `performance.now()` time. */
export type WaitOutcome =
  | { kind: "done"; at: number }
  | { kind: "timeout"; matched: number; total: number; firstBad?: string }
  | {
    kind: "stalled";
    idleMs: number;
    matched: number;
    total: number;
    firstBad?: string;
  }
  | { kind: "failed"; reason: string }
  | { kind: "aborted" };

/** Options for {@linkcode waitForIdentical}. */
export interface WaitOptions {
  /** Give up at this `performance.now()` time. */
  deadline: number;
  /** Give up when nothing in the destination changed for this long. */
  stallMs: number;
  pollMs?: number;
  /** Reports why the sync can no longer finish (a process died). */
  failure?: () => string | null;
  signal?: AbortSignal;
}

const PROGRESS_CHECK_MS = 5000;

/** A file found different is hashed again this soon even if its stat did not change. */
const RECHECK_MS = 2000;

/** The {@linkcode statKey} of each file of `expected` in `dst` that is there. */
function statsOf(dst: string, expected: Manifest): Map<string, string> {
  const out = new Map<string, string>();
  for (const path of expected.keys()) {
    try {
      out.set(path, statKey(Deno.statSync(`${dst}/${path}`)));
    } catch {
      // Missing: hashed again as soon as it is there.
    }
  }
  return out;
}

/** What changes when a file is written or replaced. */
function statKey(info: Deno.FileInfo): string {
  return `${info.ino}:${info.size}:${info.mtime?.getTime()}:${info.ctime?.getTime()}`;
}

/**
 * A directory's ctime within this long before a listing started may hide a
 * change made during or after it: Deno gives ctime in whole seconds, and the
 * kernel takes it from a coarse clock. (Not mtime: rsync and Syncthing set
 * directory mtimes back to the source's.)
 */
const CTIME_SLACK_MS = 1100;

interface DirState {
  /** Pending file name → expected size. */
  files: Map<string, number>;
  /** Names seen at the last listing but not at full size yet. */
  short: Set<string>;
  /** Directory ctime (ms) at the last listing, and when it started. */
  listedCtime: number | null;
  listedAt: number;
}

/**
 * Files of the manifest not yet seen at their full size, by folder. A folder
 * is listed again only when its ctime says entries were added or renamed;
 * files already seen but still short are stat'ed on every poll.
 */
class Pending {
  #byDir = new Map<string, DirState>();
  count = 0;
  /**
   * Files hashed and found different, by absolute path: their stat then
   * and when. One with that stat still is not hashed again for
   * `RECHECK_MS`: a 256 MiB file hashed on every poll kept one of the two
   * cores busy for the whole wait, slowing the tool being timed.
   */
  readonly #mismatched = new Map<string, { stat: string; at: number }>();

  /** `abs`, of stat `before` when its hash started, found different. */
  mismatched(abs: string, before: string | undefined): void {
    if (before === undefined) this.#mismatched.delete(abs);
    else this.#mismatched.set(abs, { stat: before, at: performance.now() });
  }

  #unchangedSinceMismatch(abs: string, info: Deno.FileInfo): boolean {
    const seen = this.#mismatched.get(abs);
    return seen !== undefined && seen.stat === statKey(info) &&
      performance.now() - seen.at < RECHECK_MS;
  }

  add(path: string, size: number): void {
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "" : path.slice(0, slash);
    const name = path.slice(slash + 1);
    let state = this.#byDir.get(dir);
    if (!state) {
      state = {
        files: new Map(),
        short: new Set(),
        listedCtime: null,
        listedAt: 0,
      };
      this.#byDir.set(dir, state);
    }
    if (!state.files.has(name)) this.count++;
    state.files.set(name, size);
    state.listedCtime = null;
  }

  #check(abs: string, name: string, state: DirState): void {
    const size = state.files.get(name);
    if (size === undefined) return;
    try {
      const info = Deno.statSync(`${abs}/${name}`);
      if (
        info.isFile && info.size === size &&
        !this.#unchangedSinceMismatch(`${abs}/${name}`, info)
      ) {
        state.files.delete(name);
        state.short.delete(name);
        this.count--;
        return;
      }
      state.short.add(name);
    } catch {
      state.short.delete(name); // renamed away meanwhile
    }
  }

  /** Drops the files that now have their full size under `root`. */
  poll(root: string): void {
    for (const [dir, state] of this.#byDir) {
      const abs = dir === "" ? root : `${root}/${dir}`;
      let ctime: number;
      try {
        ctime = Deno.statSync(abs).ctime?.getTime() ?? Date.now();
      } catch {
        continue; // not created yet
      }
      if (
        state.listedCtime === null || ctime !== state.listedCtime ||
        ctime >= state.listedAt - CTIME_SLACK_MS
      ) {
        const listedAt = Date.now();
        let names: string[];
        try {
          names = [...Deno.readDirSync(abs)].map((e) => e.name);
        } catch {
          continue;
        }
        state.listedCtime = ctime;
        state.listedAt = listedAt;
        for (const name of names) this.#check(abs, name, state);
      } else {
        for (const name of [...state.short]) this.#check(abs, name, state);
      }
      if (state.files.size === 0) this.#byDir.delete(dir);
    }
  }
}

/** Bytes and entries under `root` (tool databases left out), to see motion. */
function footprint(root: string): string {
  let bytes = 0;
  let entries = 0;
  const walk = (dir: string) => {
    let list: Deno.DirEntry[];
    try {
      list = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of list) {
      if (
        e.name === ".dsync" || e.name === ".stfolder" ||
        e.name === ".stversions"
      ) continue;
      entries++;
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else {
        try {
          bytes += Deno.statSync(path).size;
        } catch { /* gone */ }
      }
    }
  };
  walk(root);
  return `${entries}:${bytes}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** How much of `expected` a full check finds in `dst`, and one file that is not. */
async function tally(
  dst: string,
  expected: Manifest,
): Promise<{ matched: number; total: number; firstBad?: string }> {
  const bad = await findMismatches(dst, expected);
  const counts = { matched: expected.size - bad.length, total: expected.size };
  return bad[0] === undefined ? counts : { ...counts, firstBad: bad[0] };
}

/** Waits until `dst` holds every file of `expected` with the same bytes. */
export async function waitForIdentical(
  dst: string,
  expected: Manifest,
  options: WaitOptions,
): Promise<WaitOutcome> {
  const pollMs = options.pollMs ?? 50;
  const total = expected.size;
  const pending = new Pending();
  for (const [path, entry] of expected) pending.add(path, entry.size);
  let lastSeen = `0/${footprint(dst)}`;
  let lastChange = performance.now();
  let lastCheck = lastChange;
  for (;;) {
    if (options.signal?.aborted) return { kind: "aborted" };
    const pollStart = performance.now();
    pending.poll(dst);
    const now = performance.now();
    if (pending.count === 0) {
      const before = statsOf(dst, expected);
      const bad = await findMismatches(dst, expected);
      if (bad.length === 0) return { kind: "done", at: now };
      for (const path of bad) {
        pending.add(path, expected.get(path)!.size);
        pending.mismatched(`${dst}/${path}`, before.get(path));
      }
    }
    const failure = options.failure?.() ?? null;
    if (failure !== null) return { kind: "failed", reason: failure };
    const matched = total - pending.count;
    if (now >= options.deadline) {
      return { kind: "timeout", ...await tally(dst, expected) };
    }
    if (now - lastCheck >= PROGRESS_CHECK_MS) {
      lastCheck = now;
      // The walk is costly on 20,000 files: skip it while files complete.
      const seen = `${matched}/${
        lastSeen.startsWith(`${matched}/`) ? footprint(dst) : ""
      }`;
      if (seen !== lastSeen) {
        lastSeen = seen;
        lastChange = now;
      } else if (now - lastChange >= options.stallMs) {
        return {
          kind: "stalled",
          idleMs: now - lastChange,
          ...await tally(dst, expected),
        };
      }
    }
    // Keep the polling to a small share of one core whatever the folder size.
    await sleep(Math.max(pollMs, 5 * (now - pollStart)), options.signal);
  }
}
