/**
 * Deletes of a round, carried out once the round's files are in place (a
 * rename arrives as a new file plus a delete, and the new file is built
 * from the old one's chunks): each path is planned again, then the apply
 * room removes what is still to be deleted, deepest first. A directory
 * that still holds entries the peer did not know of is retried a few
 * times ({@linkcode DirRetries}), then kept.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { applyDeletes, type Decision } from "../apply/mod.ts";
import { decidePath } from "./decision.ts";
import type { DeleteGuard } from "./delete_guard.ts";
import type { PullContext } from "./pull_context.ts";
import type { PullQueue } from "./pull_queue.ts";

const log = getLogger(["dsync", "sync", "puller"]);

const MAX_DIR_RETRIES = 5;

/** Retries of directories that still hold entries, per path. */
export class DirRetries {
  readonly #queue: PullQueue;
  readonly #tries = new Map<string, number>();

  constructor(queue: PullQueue) {
    this.#queue = queue;
  }

  /** The directory at `path` is gone (or no longer in the way). */
  cleared(path: string): void {
    this.#tries.delete(path);
  }

  /**
   * The directory at `path` still holds entries: retries it later (after
   * as many delays as tries so far); false once it gave up, after which
   * the count is dropped when `forget`.
   */
  notEmpty(path: string, forget: boolean): boolean {
    const tries = (this.#tries.get(path) ?? 0) + 1;
    this.#tries.set(path, tries);
    if (tries <= MAX_DIR_RETRIES) {
      this.#queue.retryLater(path, tries);
      return true;
    }
    if (forget) this.#tries.delete(path);
    return false;
  }
}

/**
 * Applies the deletes `ds` of a round (planned again first); releases
 * their paths. The files removed count toward the mass-delete `guard`.
 */
export async function applyDeleteRound(
  ctx: PullContext,
  queue: PullQueue,
  dirs: DirRetries,
  guard: DeleteGuard,
  ds: readonly Decision[],
): Promise<void> {
  const o = ctx.options;
  try {
    if (ctx.closed()) return;
    // Plan again: the files pulled meanwhile may have changed things.
    const fresh: Decision[] = [];
    for (const d of ds) {
      const now = decidePath(o, d.path);
      if (now?.action.kind === "delete") {
        await o.leftovers?.discard(d.path);
        fresh.push(now);
      } else if (now !== undefined) queue.requeue(d.path);
    }
    const outcome = await applyDeletes(ctx.ops, fresh);
    guard.appliedFiles(
      fresh.filter((d) =>
        d.local?.kind === "file" && outcome.done.includes(d.path)
      ).map((d) => d.path),
      ctx.now(),
    );
    for (const path of outcome.done) {
      ctx.failures.settled(path);
      dirs.cleared(path);
    }
    ctx.requeueMore(fresh.filter((d) => outcome.done.includes(d.path)));
    for (const path of outcome.notEmpty) {
      if (!dirs.notEmpty(path, false)) {
        log.info("Keeping directory {path}: it still holds entries", {
          path,
        });
      }
    }
    for (const { path, error } of outcome.failed) {
      await ctx.failures.failed(path, error);
    }
    if (outcome.done.length > 0) o.host.stored();
  } finally {
    queue.release(ds.map((d) => d.path));
    queue.kick();
  }
}
