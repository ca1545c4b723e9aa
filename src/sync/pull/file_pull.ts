/**
 * One big file's trip from peers to disk: its `.part` is opened (a
 * leftover of an interrupted pull resumed, verified; or a copy of the
 * file's current version, when the change left most chunks in place),
 * filled chunk by chunk by the chunk fetcher (while the chunks written so
 * far are offered to peers pulling the same version: `../swarm/mod.ts`),
 * verified and fsynced, then renamed over
 * the path under the apply gate if the index still holds what the decision
 * was planned against; a conflict's losing copy is moved aside in the same
 * gated step. A failed pull keeps its `.part` for resuming when only a
 * peer was missing, else removes it.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { parentRel, toOsPath } from "../../index/mod.ts";
import {
  appliedRecord,
  assertDecisionCurrent,
  changedBy,
  type Decision,
  echoStateOf,
  keepVersion,
  liveStat,
  moveConflictLoser,
  PartFile,
  type PartTarget,
  syncDir,
} from "../apply/mod.ts";
import { ChunkHashMismatchError } from "../session/mod.ts";
import type { PartialFile, PartialFiles } from "../swarm/mod.ts";
import type { ChunkSink } from "./chunk_fetcher.ts";
import { lacksSource } from "./failure_policy.ts";
import { StalledSourceError } from "./source_stalls.ts";
import {
  type PullContext,
  PullerClosedError,
  PullerPausedError,
} from "./pull_context.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Pulls the big file `planned` decided, start to end; failures go to the failure policy. */
export async function pullFile(
  ctx: PullContext,
  planned: Decision,
): Promise<void> {
  const d = ctx.recheck(planned);
  if (d === undefined || ctx.closed()) return;
  const o = ctx.options;
  const epoch = ctx.sourceEpoch();
  const signal = ctx.signal();
  const transfer = ctx.transfers.start(d, ctx.now());
  let part: PartFile | undefined;
  let partial: PartialFile | undefined;
  try {
    const stalled = ctx.fetcher.stalledSource(d.remote);
    if (stalled !== undefined) {
      // Before the part and the chunk list (20 MB at the cap) are read.
      throw new StalledSourceError(d.path, stalled.label ?? stalled.key);
    }
    part = await openPart(ctx, d);
    partial = o.partials?.begin(d.remote, part.partPath);
    await ctx.fetcher.fill(
      d.remote,
      partial === undefined ? part : heldSink(part, o.partials!, partial),
      o.fileWindowBytes ?? 1 << 20,
      signal,
      (n) => transfer.bytesDone += n,
    );
    signal.throwIfAborted();
    await part.prepare();
    const p = part;
    const copy = d.action.kind === "conflict" ? ctx.copyName(d) : undefined;
    await o.gate.run(async () => {
      assertDecisionCurrent(o.store, d);
      let kept: string | undefined;
      if (copy !== undefined) await moveConflictLoser(ctx.ops, d, copy);
      else {
        kept = await keepVersion(
          ctx.ops,
          d.path,
          liveStat(o.store.getStat(d.path)),
          "replaced",
          changedBy(ctx.ops, d),
        );
      }
      let info: Deno.FileInfo;
      try {
        info = await p.rename();
      } catch (err) {
        if (kept !== undefined) await unkeep(ctx, d.path, kept);
        throw err;
      }
      o.store.put(appliedRecord(d, info));
      o.echo.remember(d.path, echoStateOf(info, d.remote.hash));
    });
    if (copy !== undefined) {
      log.info(
        "Conflict on {path}: the local copy lost and was kept as {copy}",
        { path: d.path, copy },
      );
      await o.host.rescan([copy]);
    }
    await syncDirQuietly(toOsPath(o.folder, parentRel(d.path)));
    log.debug("Pulled {path} ({size} bytes) in {ms} ms", {
      path: d.path,
      size: d.remote.size,
      ms: Math.round(ctx.now() - transfer.startedAt),
    });
    ctx.transfers.countPlaced(1);
    ctx.failures.wrote();
    ctx.failures.settled(d.path);
    ctx.requeueMore([d]);
    o.host.stored();
  } catch (err) {
    if (part !== undefined) await parkOrAbort(ctx, d.path, part, err);
    await ctx.failures.failed(d.path, err, epoch);
  } finally {
    if (partial !== undefined) o.partials?.end(partial);
    ctx.transfers.end(d.path);
  }
}

/** `part`, telling `partials` of every range once it is written or kept. */
function heldSink(
  part: PartFile,
  partials: PartialFiles,
  file: PartialFile,
): ChunkSink {
  return {
    resumable: part.resumable,
    write: async (offset, data) => {
      await part.write(offset, data);
      partials.wrote(file, offset, data.length);
    },
    readBack: (offset, length) => part.readBack(offset, length),
    keep: async (offset, length) => {
      await part.keep(offset, length);
      partials.wrote(file, offset, length);
    },
    inPlace: (offset, length) => part.inPlace(offset, length),
    copiedBytes: part.copiedBytes,
  };
}

/**
 * A `.part` for `d`: its leftover resumed, if any; else a kernel copy of
 * the current file when most of the new version sits in it at the same
 * offsets (only the changed chunks are then fetched and written); else a
 * new one.
 */
async function openPart(ctx: PullContext, d: Decision): Promise<PartFile> {
  const o = ctx.options;
  const target: PartTarget = {
    folder: o.folder,
    path: d.path,
    size: d.remote.size,
    hash: d.remote.hash,
    chunks: d.remote.chunks,
    mtimeNs: d.remote.mtimeNs,
    exec: d.remote.exec,
    expected: o.store.getStat(d.path),
    conflictTag: ctx.localTag(),
  };
  const leftover = o.leftovers?.take(d.path);
  if (leftover !== undefined) {
    let part: PartFile | undefined;
    try {
      part = await PartFile.resume(target, leftover.os);
    } catch (err) {
      log.debug("Cannot resume {path}: {error}", {
        path: d.path,
        error: String(err),
      });
    }
    if (part !== undefined) {
      log.info(
        "Resuming {path} from its .part of {bytes} bytes (what verifies is kept)",
        {
          path: d.path,
          bytes: part.resumable,
        },
      );
      return part;
    }
    await Deno.remove(leftover.os).catch(() => {});
  }
  const current = o.store.get(d.path);
  if (current !== undefined && !current.deleted && current.kind === "file") {
    const copied = await PartFile.fromCopy(target, current.chunks);
    if (copied !== undefined) {
      log.debug("Building {path} from a copy of its current version", {
        path: d.path,
      });
      return copied;
    }
  }
  return await PartFile.create(target);
}

/**
 * After a failed pull: keeps the `.part` for resuming when the pull
 * stopped for want of a peer or because the puller is closing (every
 * chunk in it was verified), else removes it (a full disk wants the
 * space back; a local failure or a bad whole file, a fresh start).
 */
async function parkOrAbort(
  ctx: PullContext,
  path: string,
  part: PartFile,
  err: unknown,
): Promise<void> {
  const leftovers = ctx.options.leftovers;
  const resumable = ctx.closed() || err instanceof PullerClosedError ||
    err instanceof PullerPausedError ||
    err instanceof ChunkHashMismatchError || lacksSource(err) ||
    err instanceof StalledSourceError;
  if (leftovers === undefined || !resumable) {
    await part.abort();
    return;
  }
  const size = await part.detach();
  if (size > 0) {
    await leftovers.park(path, part.partPath, size);
  } else {
    await Deno.remove(part.partPath).catch(() => {});
  }
}

/** Takes back the version kept for a replace that then failed. */
async function unkeep(
  ctx: PullContext,
  path: string,
  name: string,
): Promise<void> {
  try {
    await ctx.options.versions?.discard(name);
  } catch (err) {
    log.warn("Cannot take back the version {name} of {path}: {error}", {
      path,
      name,
      error: String(err),
    });
  }
}

async function syncDirQuietly(os: string): Promise<void> {
  try {
    await syncDir(os);
  } catch {
    // The rename happened; a failed directory fsync only weakens durability.
  }
}
