/**
 * A group of small files' trip from peers to disk: each file's chunks are
 * assembled in memory (copied from local files or fetched), then the apply
 * room writes them all at once ({@linkcode writeSmallFiles}), renaming
 * each into place under the apply gate and storing the records in one
 * transaction. A file that fails does not hold up the others; each failure
 * goes to the failure policy.
 * @module
 */

import type { FileRecord } from "../../index/mod.ts";
import {
  appliedRecord,
  assertDecisionCurrent,
  changedBy,
  type Decision,
  echoStateOf,
  keepAside,
  type SmallFile,
  writeSmallFiles,
} from "../apply/mod.ts";
import type { PullContext } from "./pull_context.ts";

/** Pulls the small files `planned` decided, as one group. */
export async function pullGroup(
  ctx: PullContext,
  planned: Decision[],
): Promise<void> {
  const o = ctx.options;
  const epoch = ctx.sourceEpoch();
  const signal = ctx.signal();
  const failures: { path: string; error: unknown }[] = [];
  const files: SmallFile[] = [];
  const byPath = new Map<string, Decision>();
  /** The index's stat and sequence of each path, read under the gate. */
  let current: ReturnType<typeof o.store.statsWithSequence> = new Map();
  const now = { sequenceOf: (path: string) => current.get(path)?.sequence };
  try {
    // One query for the group's rechecks (one each was 1% of a receiver's
    // main thread pulling 100,000 small files).
    const before = o.store.statsWithSequence(planned.map((p) => p.path));
    // And one for their sources (one each was 2.7 s of the main thread).
    const sources = o.peers.sourcesForMany?.(
      planned.map((p) => ({ path: p.path, hash: p.remote.hash })),
    );
    await Promise.all(planned.map(async (p) => {
      const d = ctx.recheck(p, { stat: before.get(p.path)?.stat });
      if (d === undefined || ctx.closed()) return;
      await o.leftovers?.discard(d.path);
      const transfer = ctx.transfers.start(d, ctx.now());
      try {
        const data = await ctx.fetcher.assemble(
          d.remote,
          signal,
          (n) => transfer.bytesDone += n,
          d.remote.hash === p.remote.hash ? sources?.get(d.path) : undefined,
        );
        byPath.set(d.path, d);
        files.push({
          path: d.path,
          data,
          hash: d.remote.hash,
          chunks: d.remote.chunks,
          chunksVerified: true, // by `assemble`
          mtimeNs: d.remote.mtimeNs,
          exec: d.remote.exec,
          conflictTag: ctx.localTag(),
          check: () => {
            assertDecisionCurrent(now, d);
            return current.get(d.path)?.stat;
          },
          ...(o.versions === undefined ? {} : {
            keepOld: (aside: string) =>
              keepAside(
                o.versions!,
                aside,
                d.path,
                "replaced",
                changedBy(ctx.ops, d),
              ),
          }),
        });
      } catch (err) {
        failures.push({ path: d.path, error: err });
      }
    }));
    signal.throwIfAborted();
    if (files.length > 0) {
      const outcomes = await writeSmallFiles(
        o.folder,
        files,
        (rename) =>
          o.gate.run(() => {
            // One query for the group: every file's check reads it.
            current = o.store.statsWithSequence(files.map((f) => f.path));
            const records: FileRecord[] = [];
            for (const outcome of rename()) {
              if (!outcome.ok) continue;
              const d = byPath.get(outcome.path)!;
              records.push(appliedRecord(d, outcome.info));
              o.echo.remember(
                d.path,
                echoStateOf(outcome.info, d.remote.hash),
              );
            }
            o.store.putMany(records);
            ctx.transfers.countPlaced(records.length);
            if (records.length > 0) ctx.failures.wrote();
          }),
      );
      for (const outcome of outcomes) {
        if (outcome.ok) ctx.failures.settled(outcome.path);
        else failures.push({ path: outcome.path, error: outcome.error });
      }
      ctx.requeueMore([...byPath.values()]);
      o.host.stored();
    }
  } catch (err) {
    for (const f of files) failures.push({ path: f.path, error: err });
  } finally {
    for (const d of planned) ctx.transfers.end(d.path);
  }
  for (const { path, error } of failures) {
    await ctx.failures.failed(path, error, epoch);
  }
}
