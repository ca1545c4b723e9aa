/**
 * Transfer slots: big files run one per slot, small files in groups (up to
 * `groupFiles` files or `groupBytes` bytes), a group per slot. The paths of
 * a running job are active in the queue, so no second round plans them
 * meanwhile.
 *
 * A round never waits for a slot: a big file that finds every slot taken
 * is set aside (shown as waiting) and queued again when a job ends, and
 * groups of small files may take one lane beyond the limit. When a round
 * waited instead, 8 records from a peer that never serves them (issue #19
 * point 5) took the 4 slots for good and held up every later round, so a
 * 10 KiB file from an honest peer was never even planned. A big file is
 * set aside the same way while the chunk lists of the pulls in flight
 * fill their budget (`pull_memory.ts`): one list at the chunk cap at a time.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Decision } from "../apply/mod.ts";
import { chunkCountOf } from "../../index/mod.ts";
import { pullFile } from "./file_pull.ts";
import { pullGroup } from "./group_pull.ts";
import type { PullContext } from "./pull_context.ts";
import type { PullQueue } from "./pull_queue.ts";
import { fitsListBudget, listBytesOf } from "./pull_memory.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** The puller's file jobs in flight; see the module comment. */
export class TransferSlots {
  readonly #ctx: PullContext;
  readonly #queue: PullQueue;
  readonly #jobs = new Set<Promise<void>>();
  /** Jobs of groups of small files, among `#jobs`. */
  readonly #groupJobs = new Set<Promise<void>>();
  /** Big files set aside for want of a slot: queued again when a job ends. */
  readonly #deferred = new Set<string>();
  /** Chunk-list bytes of the big pulls in flight (`pull_memory.ts`). */
  #listBytes = 0;

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

  /**
   * Starts pull jobs for `ds`; big files that find no free slot are set
   * aside (see the module comment). Returns the jobs started.
   */
  async start(ds: readonly Decision[]): Promise<Promise<void>[]> {
    const o = this.#ctx.options;
    const small = o.smallFileBytes ?? 256 * 1024;
    const groupFiles = o.groupFiles ?? 128;
    const groupBytes = o.groupBytes ?? 8 << 20;
    const slots = Math.max(1, o.maxConcurrentTransfers);
    const started: Promise<void>[] = [];
    let group: Decision[] = [];
    let bytes = 0;
    const launch = (
      job: () => Promise<void>,
      paths: string[],
      isGroup: boolean,
      listBytes = 0,
    ) => {
      this.#queue.activate(paths);
      this.#listBytes += listBytes;
      const run: Promise<void> = job()
        .catch((err) =>
          log.error("Pull job failed: {error}", { error: String(err) })
        )
        .finally(() => {
          this.#listBytes -= listBytes;
          this.#queue.release(paths);
          this.#jobs.delete(run);
          this.#groupJobs.delete(run);
          if (this.#deferred.size > 0) {
            const again = [...this.#deferred];
            this.#deferred.clear();
            this.#queue.enqueue(again);
          }
          this.#queue.kick();
        });
      this.#jobs.add(run);
      if (isGroup) this.#groupJobs.add(run);
      started.push(run);
    };
    const launchGroup = async (g: Decision[]) => {
      // Past the limit, one group still runs beside the big files.
      while (
        this.#jobs.size >= slots &&
        (this.#groupJobs.size >= 1 || this.#jobs.size >= slots + 1)
      ) {
        await Promise.race(this.#jobs);
      }
      launch(() => pullGroup(ctx, g), g.map((x) => x.path), true);
    };
    const ctx = this.#ctx;
    for (const d of ds) {
      if (ctx.closed()) break;
      if (d.remote.size > small || d.action.kind === "conflict") {
        const listBytes = listBytesOf(chunkCountOf(d.remote));
        if (
          this.#jobs.size >= slots ||
          !fitsListBudget(this.#listBytes, listBytes)
        ) {
          this.#deferred.add(d.path);
          this.#queue.wait(d.path);
          continue;
        }
        launch(() => pullFile(ctx, d), [d.path], false, listBytes);
        continue;
      }
      group.push(d);
      bytes += d.remote.size;
      if (group.length >= groupFiles || bytes >= groupBytes) {
        const g = group;
        group = [];
        bytes = 0;
        await launchGroup(g);
      }
    }
    if (group.length > 0 && !ctx.closed()) await launchGroup(group);
    return started;
  }
}
