/**
 * Planning one path against every peer's record of it: the most advanced
 * record that wants work here becomes the {@linkcode Decision} the puller
 * carries out, and a decision is checked again, cheaply, just before its
 * file is fetched.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { compare, type FileRecord, type StoredStat } from "../../index/mod.ts";
import type { Decision } from "../apply/mod.ts";
import { plan } from "./planner.ts";
import type { PullerOptions } from "./pull_context.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** What a round read at once of the paths it plans (see {@linkcode readRound}). */
export interface RoundRecords {
  /** Local records of the round's paths (a path without one is absent). */
  readonly local: ReadonlyMap<string, FileRecord>;
  /** Peers' records of the round's paths. */
  readonly remote: ReadonlyMap<string, readonly { record: FileRecord }[]>;
}

/**
 * The local and peer records of `paths`, two queries in all: one pair per
 * path was a tenth of a receiver's main thread planning 100,000 new files.
 * Read it right before planning, with nothing awaited in between.
 */
export function readRound(
  o: Pick<PullerOptions, "store" | "remote">,
  paths: readonly string[],
): RoundRecords | undefined {
  if (o.remote.recordsForMany === undefined) return undefined;
  return {
    local: o.store.getMany(paths),
    remote: o.remote.recordsForMany(paths),
  };
}

/**
 * The most advanced peer record of `path` that wants work here, if any;
 * `round` holds the records when read already (see {@linkcode readRound}).
 */
export function decidePath(
  o: Pick<PullerOptions, "store" | "remote" | "caseTwin">,
  path: string,
  round?: RoundRecords,
): Decision | undefined {
  const local = round === undefined ? o.store.get(path) : round.local.get(path);
  const remotes = round === undefined
    ? o.remote.recordsFor(path)
    : round.remote.get(path) ?? [];
  const ctx = { localReplica: o.store.replicaId };
  let best: { remote: FileRecord; action: Decision["action"] } | undefined;
  let count = 0;
  for (const { record } of remotes) {
    const action = plan(local, record, ctx);
    if (
      action.kind === "nothing" ||
      (action.kind === "conflict" && action.winner === "local")
    ) continue;
    count++;
    if (
      best === undefined ||
      compare(record.version, best.remote.version) === "greater"
    ) {
      best = { remote: record, action };
    }
  }
  if (best === undefined) return undefined;
  if ((local === undefined || local.deleted) && !best.remote.deleted) {
    const twin = o.caseTwin?.(path);
    if (twin !== undefined) {
      log.warn(
        "Not creating {path}: it differs only in case from {twin} and this disk ignores case",
        { path, twin },
      );
      return undefined;
    }
  }
  return { path, local, ...best, more: count > 1 };
}

/**
 * The decisions for a round of `paths`, by action kind, each path planned
 * against records read for the whole round; paths with nothing to do, or
 * that `held` keeps back, are left out.
 */
export function planRound(
  o: Pick<PullerOptions, "store" | "remote" | "caseTwin">,
  paths: readonly string[],
  held: (path: string, d: Decision | undefined) => boolean,
): Map<string, Decision[]> {
  const byKind = new Map<string, Decision[]>();
  const records = readRound(o, paths);
  for (const path of paths) {
    const d = decidePath(o, path, records);
    if (held(path, d) || d === undefined) continue;
    const kind = d.action.kind;
    let list = byKind.get(kind);
    if (list === undefined) byKind.set(kind, list = []);
    list.push(d);
  }
  return byKind;
}

/** True when `stat` (stored now) still describes `record` (stored when decided). */
export function sameLocal(
  stat: StoredStat | undefined,
  record: FileRecord | undefined,
): boolean {
  if (stat === undefined || record === undefined) {
    return stat === undefined && record === undefined;
  }
  return stat.deleted === record.deleted && stat.kind === record.kind &&
    stat.size === record.size && stat.exec === record.exec &&
    stat.mtimeMs === Number(record.mtimeNs / 1_000_000n) &&
    stat.inode === record.inode;
}

/**
 * A conflict the winner of which is a file and the loser a file or link:
 * pulled like any file, the loser moved aside in the step that puts the
 * winner in place.
 */
export function replacesInPlace(d: Decision): boolean {
  return d.action.kind === "conflict" && d.action.winner === "remote" &&
    d.remote.kind === "file" && d.local !== undefined && !d.local.deleted &&
    d.local.kind !== "dir";
}

/** The paths of peer `records` that need work here (a cheap pre-check: the puller plans them fully later). */
export function pathsWanting(
  store: Pick<PullerOptions["store"], "getMany" | "replicaId">,
  records: readonly FileRecord[],
): string[] {
  const ctx = { localReplica: store.replicaId };
  const paths: string[] = [];
  // One query for the batch (one per record was 3% of a receiver's main
  // thread taking in 100,000 new records).
  const locals = store.getMany(records.map((r) => r.path));
  for (const record of records) {
    const action = plan(locals.get(record.path), record, ctx);
    if (
      action.kind === "nothing" ||
      (action.kind === "conflict" && action.winner === "local")
    ) continue;
    paths.push(record.path);
  }
  return paths;
}
