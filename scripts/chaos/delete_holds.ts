/**
 * The mass-delete guard in a chaos run. A peer that sees another delete
 * more than half of its files within a minute (a `rm -r` of a big folder
 * during heavy churn is enough) holds those deletes until its user accepts
 * them; the run plays that user: while waiting for the folders to agree it
 * finds each new hold in a peer's log and accepts it with
 * `dsync resume -d DIR --accept-deletes`, as the warning says. Without
 * this a run whose operations trip the guard never settles, for a reason
 * that is dsync working as designed.
 * @module
 */

/** The guard's warning; one per hold (see src/sync/pull/mass_delete.ts). */
const HOLD =
  /would delete (\d+) of the (\d+) files here; nothing of it is applied/g;

/** One hold as the log told it. */
export interface DeleteHold {
  readonly deletes: number;
  readonly files: number;
}

/** Every hold announced in `output`, in order. */
export function holdsIn(output: string): DeleteHold[] {
  return [...output.matchAll(HOLD)].map((m) => ({
    deletes: Number(m[1]),
    files: Number(m[2]),
  }));
}

/**
 * Which holds of one peer's running generation are new: remembers how many
 * were seen per generation, so a restarted peer (its output starts over)
 * is judged afresh.
 */
export class HoldTracker {
  readonly #seen = new Map<number, number>();

  /** Holds in `output` of generation `generation` not returned before. */
  fresh(generation: number, output: string): DeleteHold[] {
    const all = holdsIn(output);
    const seen = this.#seen.get(generation) ?? 0;
    this.#seen.set(generation, all.length);
    return all.slice(seen);
  }
}
