/**
 * Which of our records go to a peer in the index push: not one the peer
 * holds in that very version, nor one withheld (a receive-only folder's
 * own changes), nor one whose version is poisoned (repaired first, then
 * sent as a new change), nor one no peer may take (logged).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { FileRecord } from "../../index/mod.ts";
import type { Hello } from "../../protocol/mod.ts";
import type { HeldPage } from "./held_page.ts";
import type { NameReports } from "./name_reports.ts";
import { fingerprint } from "../../identity/mod.ts";
import { peerLabel } from "./peer_label.ts";
import { repairIfPoisoned } from "./record_intake.ts";
import type { PeerSessionOptions } from "./session_options.ts";
import { wireRecordProblem } from "./wire_record.ts";

const log = getLogger(["dsync", "sync", "session"]);

/**
 * True when `record` is sent to the peer of `hello` (and then noted in
 * `names` as sent to it).
 */
export function sendable(
  record: FileRecord,
  o: Pick<
    PeerSessionOptions,
    "withhold" | "repairPoisoned" | "peerId" | "peerDevice"
  >,
  held: HeldPage | undefined,
  hello: Hello | undefined,
  names: NameReports,
): boolean {
  if (held?.kind === "some" && held.paths.has(record.path)) return false;
  if (o.withhold?.(record)) return false;
  if (repairIfPoisoned(record, o.repairPoisoned)) return false;
  const problem = wireRecordProblem(record);
  if (problem !== undefined) {
    log.warn("Not sending {path} to {peer}: {problem}", {
      path: record.path,
      peer: peerLabel(hello?.name, fingerprint(o.peerDevice ?? o.peerId)),
      problem,
    });
    return false;
  }
  names.sending(record, hello?.posixNames);
  return true;
}
