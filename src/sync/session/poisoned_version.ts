/**
 * A local record whose version holds a counter above the bound every
 * device applies (`MAX_COUNTER`): stored before that rule existed, from a
 * peer that inflated another replica's counter (issue #19). No peer takes
 * it any more, and it still dominates the honest edits of the replica
 * whose counter was inflated, so the two devices stayed apart on that path
 * for good. Repaired, its version drops the counters no device accepts
 * and gains one change of ours: concurrent with the others' edits, so
 * every device resolves the path as a conflict (the loser kept as a
 * conflict copy) and converges.
 * @module
 */

import {
  bump,
  MAX_VERSION_COUNTER,
  versionOf,
  type VersionVector,
} from "../../index/mod.ts";

/** True when `version` holds a counter no device accepts any more. */
export function isPoisoned(version: VersionVector): boolean {
  return version.some((e) => e.counter > MAX_VERSION_COUNTER);
}

/** `version` without the counters no device accepts, plus one change by `replica`. */
export function repairedVersion(
  version: VersionVector,
  replica: bigint,
): VersionVector {
  const kept = versionOf(
    version.filter((e) => e.counter <= MAX_VERSION_COUNTER).map((e) =>
      [e.replica, e.counter] as const
    ),
  );
  return bump(kept, replica);
}
