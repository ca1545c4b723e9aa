/**
 * The losing side of a conflict here: the local entry is kept under a
 * conflict name that says when and on which replica the losing edit was
 * made, then indexed as a new file that syncs like any other.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { VersionVector } from "../../index/mod.ts";
import {
  conflictName,
  type Decision,
  renameConflictLoser,
} from "../apply/mod.ts";
import { lastModifier } from "./planner.ts";
import type { PullContext } from "./pull_context.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Short tag of the replica that made a conflict's losing edit. */
function conflictTag(
  loser: VersionVector,
  winner: VersionVector,
  fallback: bigint,
): string {
  return tagOf(lastModifier(loser, winner) ?? fallback);
}

/** A replica's tag in conflict names: the first 8 hex digits of its id, upper case. */
export function tagOf(replica: bigint): string {
  return replica.toString(16).padStart(16, "0").slice(0, 8).toUpperCase();
}

/** The name the losing local copy of `d.path` is kept under (at `now`; `local` is this replica). */
export function copyName(d: Decision, now: number, local: bigint): string {
  return conflictName(
    d.path,
    new Date(now),
    conflictTag(d.local!.version, d.remote.version, local),
  );
}

/** Moves the local loser of `d` aside under its conflict name and indexes both paths. */
export async function keepLocalLoser(
  ctx: PullContext,
  d: Decision,
): Promise<void> {
  const copy = ctx.copyName(d);
  await renameConflictLoser(ctx.ops, d, copy);
  log.info("Conflict on {path}: the local copy lost and was kept as {copy}", {
    path: d.path,
    copy,
  });
  await ctx.options.host.rescan([d.path, copy]);
}
