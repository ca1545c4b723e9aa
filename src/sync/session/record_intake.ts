/**
 * The records of one peer's index batch as this device takes them in: each
 * checked and converted at the edge (refused ones logged and reported,
 * ignored ones dropped), deletions of paths no one here had dropped (see
 * `neverSeen`), and a local record of the same path that is poisoned (see
 * `poisoned_version.ts`) sent for repair.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { FileRecord, VersionVector } from "../../index/mod.ts";
import type { WireFileRecord } from "../../protocol/mod.ts";
import { checkOwnCounter, WireRecordError } from "./wire_record.ts";
import { type NameReports, neverSeen } from "./name_reports.ts";
import type { SkippedRecords } from "./skipped_records.ts";
import { isPoisoned } from "./poisoned_version.ts";
import type { PeerSessionOptions } from "./session_options.ts";

const log = getLogger(["dsync", "sync", "session"]);

/** What a batch's records are taken in with. */
export interface RecordIntakeContext {
  readonly o: Pick<
    PeerSessionOptions,
    "local" | "remote" | "convert" | "repairPoisoned"
  >;
  readonly names: NameReports;
  readonly skipped: SkippedRecords;
  /** The peer, for the log. */
  readonly peer: string;
}

/** The records taken in, and how many deletions of never-seen paths were dropped. */
export interface TakenRecords {
  readonly records: FileRecord[];
  readonly dropped: number;
}

/** Takes in the records of one batch; see the module comment. */
export function takeRecords(
  wires: readonly WireFileRecord[],
  ctx: RecordIntakeContext,
): TakenRecords {
  const { local, remote } = ctx.o;
  const records: FileRecord[] = [];
  let dropped = 0;
  for (const wire of wires) {
    let record: FileRecord | undefined;
    try {
      const ours = local.replicaId;
      if (wire.version.some((entry) => entry.replica === ours)) {
        checkOwnCounter(wire, ours, local.get?.(wire.path));
      }
      record = ctx.o.convert(wire);
    } catch (err) {
      if (!(err instanceof WireRecordError)) throw err;
      ctx.names.refusedRecord(wire.path, wire.deleted, err);
      ctx.skipped.log(ctx.peer, err);
      continue;
    }
    if (record === undefined) continue;
    if (record.deleted && neverSeen(local, remote, record.path)) {
      dropped++;
      continue;
    }
    records.push(record);
  }
  const repair = ctx.o.repairPoisoned;
  if (repair !== undefined && records.length > 0) {
    // One query for the batch: one per record was 2% of a receiver's main
    // thread taking in 100,000 new records.
    const versions = remote.localVersions?.(records.map((r) => r.path));
    for (const record of records) {
      const ours = versions === undefined
        ? remote.localVersion?.(record.path)
        : versions.get(record.path);
      if (ours !== undefined) {
        repairIfPoisoned({ path: record.path, version: ours }, repair);
      }
    }
  }
  if (dropped > 0) {
    log.debug(
      "Dropped {n} deletions from {peer} of paths this device never had",
      { n: dropped, peer: ctx.peer },
    );
  }
  return { records, dropped };
}

/** Asks for our record of `ours.path` to be repaired when its version is poisoned; true when it is. */
export function repairIfPoisoned(
  ours: { readonly path: string; readonly version: VersionVector },
  repair: ((path: string) => void) | undefined,
): boolean {
  if (repair === undefined || !isPoisoned(ours.version)) return false;
  repair(ours.path);
  return true;
}
