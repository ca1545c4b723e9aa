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

/** The most advanced peer record of `path` that wants work here, if any. */
export function decidePath(
  o: Pick<PullerOptions, "store" | "remote" | "caseTwin">,
  path: string,
): Decision | undefined {
  const local = o.store.get(path);
  const ctx = { localReplica: o.store.replicaId };
  let best: { remote: FileRecord; action: Decision["action"] } | undefined;
  let count = 0;
  for (const { record } of o.remote.recordsFor(path)) {
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
  store: Pick<PullerOptions["store"], "get" | "replicaId">,
  records: readonly FileRecord[],
): string[] {
  const ctx = { localReplica: store.replicaId };
  const paths: string[] = [];
  for (const record of records) {
    const action = plan(store.get(record.path), record, ctx);
    if (
      action.kind === "nothing" ||
      (action.kind === "conflict" && action.winner === "local")
    ) continue;
    paths.push(record.path);
  }
  return paths;
}
