/**
 * Coalesces file-system events into rescan batches. Pure: time comes in as
 * a number with each call, so the owner drives it with its own timers and
 * tests drive it with a fake clock.
 *
 * A batch is due `quietMs` after its last event, or `maxDelayMs` after its
 * first one, whichever comes first, so a file written without pause is
 * still rescanned. Paths below another path of the batch are dropped (the
 * scanner walks a directory it is given). Memory stays bounded: past
 * `maxPaths` distinct paths the batch is cut to shallower parents, and to
 * "full" when only the folder root would cover it.
 */

/** Paths (canonical, relative to the folder) to rescan, or the whole folder. */
export type RescanBatch = string[] | "full";

/** Options of {@linkcode EventCoalescer}. */
export interface EventCoalescerOptions {
  /** Quiet time after the last event before a batch is due (default 75 ms). */
  readonly quietMs?: number;
  /** Longest wait after the first event of a batch (default 500 ms). */
  readonly maxDelayMs?: number;
  /** Distinct paths held before collapsing to parents (default 10,000). */
  readonly maxPaths?: number;
}

/** Default quiet period, in ms. */
export const DEFAULT_QUIET_MS = 75;
/** Default longest delay of a batch, in ms. */
export const DEFAULT_MAX_DELAY_MS = 500;
/** Default cap on the distinct paths of one batch. */
export const DEFAULT_MAX_PATHS = 10_000;

function checkDuration(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot use ${name} ${value}: not a non-negative number of ms`,
    );
  }
  return value;
}

/** Number of segments of a non-empty canonical path. */
function depthOf(path: string): number {
  let depth = 1;
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    depth++;
  }
  return depth;
}

/** The first `depth` segments of `path`. */
function truncate(path: string, depth: number): string {
  let cut = -1;
  for (let i = 0; i < depth; i++) {
    cut = path.indexOf("/", cut + 1);
    if (cut < 0) return path;
  }
  return path.slice(0, cut);
}

/** True when a strict ancestor of `path` is in `set`. */
function hasAncestorIn(set: ReadonlySet<string>, path: string): boolean {
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    if (set.has(path.slice(0, i))) return true;
  }
  return false;
}

/** The paths of `paths` not below another one of them, sorted. */
function coveringRoots(paths: Iterable<string>): string[] {
  const byLength = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const roots = new Set<string>();
  for (const path of byLength) {
    if (!hasAncestorIn(roots, path)) roots.add(path);
  }
  return [...roots].sort();
}

/** Collects changed paths and hands them over in coalesced batches. */
export class EventCoalescer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #maxPaths: number;
  #paths = new Set<string>();
  #full = false;
  /** Paths deeper than this are cut to it (lowered when the cap is hit). */
  #depthLimit = Number.POSITIVE_INFINITY;
  #firstAt: number | undefined;
  #lastAt = 0;

  constructor(opts: EventCoalescerOptions = {}) {
    this.#quietMs = checkDuration("quietMs", opts.quietMs ?? DEFAULT_QUIET_MS);
    this.#maxDelayMs = checkDuration(
      "maxDelayMs",
      opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    );
    const maxPaths = opts.maxPaths ?? DEFAULT_MAX_PATHS;
    if (!Number.isSafeInteger(maxPaths) || maxPaths < 1) {
      throw new RangeError(
        `Cannot use maxPaths ${maxPaths}: not a positive integer`,
      );
    }
    this.#maxPaths = maxPaths;
  }

  /** True when a batch is waiting (due or not). */
  get pending(): boolean {
    return this.#firstAt !== undefined;
  }

  /** Distinct paths held for the next batch (0 when it is "full"). */
  get size(): number {
    return this.#paths.size;
  }

  /**
   * Records changed paths (canonical, relative to the folder) seen at time
   * `now` (ms, any monotonic origin). `""`, the folder itself, means the
   * whole folder.
   */
  add(relPaths: Iterable<string>, now: number): void {
    this.#touch(now);
    if (this.#full) return;
    for (const raw of relPaths) {
      if (raw === "") {
        this.#becomeFull();
        return;
      }
      const path = truncate(raw, this.#depthLimit);
      if (this.#paths.has(path) || hasAncestorIn(this.#paths, path)) continue;
      this.#paths.add(path);
      if (this.#paths.size > this.#maxPaths) {
        this.#shrink();
        if (this.#full) return;
      }
    }
  }

  /** Records that the whole folder must be rescanned. */
  addFull(now: number): void {
    this.#touch(now);
    this.#becomeFull();
  }

  /** When the pending batch is due (same clock as `add`), if there is one. */
  dueAt(): number | undefined {
    if (this.#firstAt === undefined) return undefined;
    return Math.min(
      this.#lastAt + this.#quietMs,
      this.#firstAt + this.#maxDelayMs,
    );
  }

  /** Takes the pending batch if it is due at `now`; otherwise undefined. */
  take(now: number): RescanBatch | undefined {
    const due = this.dueAt();
    if (due === undefined || now < due) return undefined;
    return this.flush();
  }

  /** Takes the pending batch whether or not it is due. */
  flush(): RescanBatch | undefined {
    if (this.#firstAt === undefined) return undefined;
    const batch: RescanBatch = this.#full ? "full" : coveringRoots(this.#paths);
    this.#paths = new Set();
    this.#full = false;
    this.#depthLimit = Number.POSITIVE_INFINITY;
    this.#firstAt = undefined;
    return batch;
  }

  #touch(now: number): void {
    if (this.#firstAt === undefined) this.#firstAt = now;
    this.#lastAt = now;
  }

  #becomeFull(): void {
    this.#full = true;
    this.#paths = new Set();
  }

  /** Cuts the paths to shallower parents until at most `maxPaths` remain. */
  #shrink(): void {
    let deepest = 0;
    for (const path of this.#paths) deepest = Math.max(deepest, depthOf(path));
    for (let depth = deepest; depth >= 1; depth--) {
      const roots = coveringRoots(
        [...this.#paths].map((path) => truncate(path, depth)),
      );
      if (roots.length <= this.#maxPaths) {
        this.#paths = new Set(roots);
        this.#depthLimit = depth;
        return;
      }
    }
    this.#becomeFull();
  }
}
