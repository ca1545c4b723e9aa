import { getLogger } from "@logtape/logtape";
import { type IndexStore, TOMBSTONE_RETENTION_MS } from "../index/mod.ts";

const log = getLogger(["dsync", "node"]);

/**
 * Drops tombstones older than the retention period (30 days): long enough
 * that a peer returning after weeks does not resurrect deleted files.
 * Returns how many were dropped.
 */
export function purgeExpiredTombstones(store: IndexStore, now: number): number {
  const dropped = store.purgeTombstones(now - TOMBSTONE_RETENTION_MS);
  if (dropped > 0) {
    log.debug("Forgot {count} deletions older than 30 days", {
      count: dropped,
    });
  }
  return dropped;
}
