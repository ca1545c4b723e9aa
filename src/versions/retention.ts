/**
 * Which versions to delete: those older than the kept days, then the oldest
 * until the rest fit in the size cap (Syncthing's "trash can" keeps by age
 * only; a size cap keeps a folder of big, often replaced files from filling
 * the disk). Pure; `VersionStore.prune` carries it out.
 * @module
 */

/** A kept version as retention sees it. */
export interface AgedVersion {
  readonly at: number;
  readonly size: number;
}

/** What to keep. */
export interface RetentionPolicy {
  /** Versions older than this many days go; 0 keeps none. */
  readonly keepDays: number;
  /** All versions together stay within this many bytes (oldest go first). */
  readonly maxBytes: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The versions to delete under `policy` at `now`, oldest first. Ties in
 * time keep their given order.
 */
export function versionsToPrune<T extends AgedVersion>(
  versions: readonly T[],
  policy: RetentionPolicy,
  now: number,
): T[] {
  const oldestFirst = [...versions].sort((a, b) => a.at - b.at);
  const cutoff = now - policy.keepDays * DAY_MS;
  let total = oldestFirst.reduce((sum, v) => sum + v.size, 0);
  const prune: T[] = [];
  for (const v of oldestFirst) {
    if (policy.keepDays > 0 && v.at >= cutoff && total <= policy.maxBytes) {
      break;
    }
    prune.push(v);
    total -= v.size;
  }
  return prune;
}

/**
 * The oldest versions whose sizes add up to at least `bytes` (all of them
 * when they do not): what to free when the disk is full.
 */
export function versionsToFree<T extends AgedVersion>(
  versions: readonly T[],
  bytes: number,
): T[] {
  const oldestFirst = [...versions].sort((a, b) => a.at - b.at);
  const out: T[] = [];
  let freed = 0;
  for (const v of oldestFirst) {
    if (freed >= bytes) break;
    out.push(v);
    freed += v.size;
  }
  return out;
}
