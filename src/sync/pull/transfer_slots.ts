/**
 * Transfer slots: big files run one per slot, small files in groups (up to
 * `groupFiles` files or `groupBytes` bytes), a group per slot; a new job
 * waits for a free slot. The paths of a running job are active in the
 * queue, so no second round plans them meanwhile.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Decision } from "../apply/mod.ts";
import { pullFile } from "./file_pull.ts";
import { pullGroup } from "./group_pull.ts";
import type { PullContext } from "./pull_context.ts";
import type { PullQueue } from "./pull_queue.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** The puller's file jobs in flight; see the module comment. */
export class TransferSlots {
  readonly #ctx: PullContext;
  readonly #queue: PullQueue;
  readonly #jobs = new Set<Promise<void>>();

  constructor(ctx: PullContext, queue: PullQueue) {
    this.#ctx = ctx;
    this.#queue = queue;
  }

  /** Jobs in flight. */
  get running(): number {
    return this.#jobs.size;
  }

  /** The jobs in flight now. */
  jobs(): Promise<void>[] {
    return [...this.#jobs];
  }

  /** Starts pull jobs for `ds`, waiting for free slots; returns the jobs started. */
  async start(ds: readonly Decision[]): Promise<Promise<void>[]> {
    const o = this.#ctx.options;
    const small = o.smallFileBytes ?? 256 * 1024;
    const groupFiles = o.groupFiles ?? 128;
    const groupBytes = o.groupBytes ?? 8 << 20;
    const started: Promise<void>[] = [];
    let group: Decision[] = [];
    let bytes = 0;
    const launch = async (job: () => Promise<void>, paths: string[]) => {
      while (this.#jobs.size >= Math.max(1, o.maxConcurrentTransfers)) {
        await Promise.race(this.#jobs);
      }
      this.#queue.activate(paths);
      const run: Promise<void> = job()
        .catch((err) =>
          log.error("Pull job failed: {error}", { error: String(err) })
        )
        .finally(() => {
          this.#queue.release(paths);
          this.#jobs.delete(run);
          this.#queue.kick();
        });
      this.#jobs.add(run);
      started.push(run);
    };
    const ctx = this.#ctx;
    for (const d of ds) {
      if (ctx.closed()) break;
      if (d.remote.size > small || d.action.kind === "conflict") {
        await launch(() => pullFile(ctx, d), [d.path]);
        continue;
      }
      group.push(d);
      bytes += d.remote.size;
      if (group.length >= groupFiles || bytes >= groupBytes) {
        const g = group;
        group = [];
        bytes = 0;
        await launch(() => pullGroup(ctx, g), g.map((x) => x.path));
      }
    }
    if (group.length > 0 && !ctx.closed()) {
      const g = group;
      await launch(() => pullGroup(ctx, g), g.map((x) => x.path));
    }
    return started;
  }
}
