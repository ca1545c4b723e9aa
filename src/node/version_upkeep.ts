/**
 * Keeps the versions within their retention: pruned once at start and then
 * every hour, in the background (a prune of many versions never delays the
 * start), and on demand when the disk is full.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { formatBytes, formatCount } from "../ui/mod.ts";
import type { RetentionPolicy, VersionStore } from "../versions/mod.ts";

const log = getLogger(["dsync", "versions"]);

/** How often versions are pruned while running. */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Room freed beyond the file that did not fit, so the next ones fit too. */
const DISK_FULL_MARGIN = 64 * 1024 * 1024;

/** The background pruning of one folder's versions. */
export class VersionUpkeep {
  readonly #store: VersionStore;
  readonly #policy: RetentionPolicy;
  readonly #timer: ReturnType<typeof setInterval>;
  #running: Promise<void> = Promise.resolve();

  constructor(
    store: VersionStore,
    policy: RetentionPolicy,
    intervalMs = PRUNE_INTERVAL_MS,
  ) {
    this.#store = store;
    this.#policy = policy;
    this.prune();
    this.#timer = setInterval(() => this.prune(), intervalMs);
  }

  /** Prunes now (after any prune in progress). */
  prune(): Promise<void> {
    this.#running = this.#running.then(async () => {
      try {
        const { removed, bytes } = await this.#store.prune(this.#policy);
        if (removed > 0) {
          log.info("Deleted {count} old versions ({bytes})", {
            count: formatCount(removed),
            bytes: formatBytes(bytes),
          });
        }
      } catch (error) {
        log.warn("Cannot prune old versions: {error}", {
          error: String(error),
        });
      }
    });
    return this.#running;
  }

  /** The disk is full while writing `path` (`bytes` long): deletes the oldest versions. */
  freeFor(path: string, bytes: number): Promise<void> {
    this.#running = this.#running.then(async () => {
      const { removed, bytes: freed } = await this.#store.free(
        bytes + DISK_FULL_MARGIN,
      );
      if (removed > 0) {
        log.warn(
          "The disk is full: deleted the {count} oldest versions ({bytes}) to make room for {path}",
          { count: formatCount(removed), bytes: formatBytes(freed), path },
        );
      }
    });
    return this.#running;
  }

  /** Stops the hourly prune and waits for one in progress. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running.catch(() => {});
  }
}
