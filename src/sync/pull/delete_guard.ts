/**
 * The mass-delete guard: when a peer's changes would delete more than half
 * of the folder's files (and more than 100), none of those deletes is
 * applied until the user accepts them (`dsync resume --accept-deletes`).
 * An unmounted disk or a wrong `rm -r` on one device should not empty
 * every other device, even though versions would make it undoable.
 * Deletes that arrive in quick succession are judged together: the
 * puller stages them until no new one came for {@linkcode DELETE_SETTLE_MS}
 * (a peer's `rm -r` reaches us in several index batches, and the first
 * batches alone are below the threshold). Deletes applied in the last
 * minute count too, so batches further apart are still judged as one.
 * @module
 */

/** More deletes than this, and more than half the files, are held. */
export const MASS_DELETE_MIN = 100;
/** Deletes applied within this window count with the next ones. */
export const MASS_DELETE_WINDOW_MS = 60_000;
/**
 * Deletes are staged until none came for this long (in a folder that can
 * hold a mass delete at all), so that one peer's batches are judged at once.
 */
export const DELETE_SETTLE_MS = 2000;
/** A steady stream of deletes is judged at the latest after this long. */
export const DELETE_SETTLE_MAX_MS = 20_000;

/**
 * When staged deletes (the first staged at `first`, the last at `last`)
 * are to be judged: the time, or `"now"` once it has come. Pure.
 */
export function settleTime(
  first: number,
  last: number,
  now: number,
): number | "now" {
  const at = Math.min(last + DELETE_SETTLE_MS, first + DELETE_SETTLE_MAX_MS);
  return now >= at ? "now" : at;
}

/**
 * Whether deletes can wait no staging: `live` files here and `recent`
 * deleted within the window cannot add up to a mass delete. Pure.
 */
export function tooFewForMassDelete(live: number, recent: number): boolean {
  return live + recent <= MASS_DELETE_MIN;
}

/**
 * Whether deleting `total` files (now and within the window) of a folder
 * that held `baseline` files when the window began is a mass delete. Pure.
 */
export function isMassDelete(total: number, baseline: number): boolean {
  return total > MASS_DELETE_MIN && total * 2 > baseline;
}

/** The guard's state: deletes held, deletes applied lately, acceptance. */
export class DeleteGuard {
  readonly #held = new Set<string>();
  #applied: { at: number; count: number }[] = [];
  /** Live files when the first delete of the window was judged. */
  #baseline = 0;
  #accepting = false;
  /** Paths whose delete was let through as a move, until applied. */
  readonly #moved = new Set<string>();

  /** Paths whose delete waits for acceptance. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /** True from {@linkcode accept} until {@linkcode settle}. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Files deleted within the window before `now`. */
  recent(now: number): number {
    return this.#applied.reduce(
      (sum, a) => now - a.at < MASS_DELETE_WINDOW_MS ? sum + a.count : sum,
      0,
    );
  }

  /**
   * Judges a round's deletes (`files` of them delete files; `live` files
   * in the folder now): apply them, or hold them. Returns `"hold"` for a round that starts
   * or continues a held episode.
   */
  judge(
    paths: readonly string[],
    files: number,
    live: number,
    now: number,
  ): "apply" | "hold" {
    this.#applied = this.#applied.filter((a) =>
      now - a.at < MASS_DELETE_WINDOW_MS
    );
    if (this.#accepting || paths.length === 0) return "apply";
    if (this.#applied.length === 0 && this.#held.size === 0) {
      this.#baseline = live;
    }
    const recent = this.#applied.reduce((sum, a) => sum + a.count, 0);
    if (
      this.#held.size > 0 ||
      isMassDelete(files + recent, Math.max(this.#baseline, live))
    ) {
      for (const path of paths) this.#held.add(path);
      return "hold";
    }
    return "apply";
  }

  /** `count` files were deleted at `now`. */
  applied(count: number, now: number): void {
    if (count > 0) this.#applied.push({ at: now, count });
  }

  /**
   * Deletes of `paths` lose nothing (their content lives on at another
   * path here): they are let through and do not count when applied.
   */
  moved(paths: Iterable<string>): void {
    for (const path of paths) this.#moved.add(path);
  }

  /** The files at `paths` were deleted at `now`; moved ones do not count. */
  appliedFiles(paths: readonly string[], now: number): void {
    let count = 0;
    for (const path of paths) {
      if (!this.#moved.delete(path)) count++;
    }
    this.applied(count, now);
  }

  /** The user accepted: returns the held paths, applied from now on until {@linkcode settle}. */
  accept(): string[] {
    this.#accepting = true;
    const paths = [...this.#held];
    this.#held.clear();
    return paths;
  }

  /** Nothing is left to do: accepted deletes are done, guard again. */
  settle(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#applied = [];
  }
}
