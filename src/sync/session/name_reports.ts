/**
 * Names that cannot cross between two devices with different naming
 * rules (a POSIX name on a Windows disk): ours the peer cannot hold
 * (sent all the same; the peer skips them and says so) and the peer's we
 * cannot hold. Both are reported per peer in the status.
 * @module
 */

import type { FileRecord } from "../../index/mod.ts";
import { wirePathProblem } from "../../protocol/mod.ts";
import { NameNotAllowedError } from "./wire_record.ts";

/** The names of one session that the naming rules keep apart. */
export class NameReports {
  readonly #withheld = new Set<string>();
  readonly #refused = new Set<string>();

  /** Our paths the peer's naming rules refuse (it cannot hold them), sorted. */
  get withheld(): string[] {
    return [...this.#withheld].sort();
  }

  /** The peer's paths our naming rules refuse (we cannot hold them), sorted. */
  get refused(): string[] {
    return [...this.#refused].sort();
  }

  /** A record of the peer's for `path` was refused with `err`. */
  refusedRecord(path: string, deleted: boolean, err: Error): void {
    if (!(err instanceof NameNotAllowedError)) return;
    if (deleted) this.#refused.delete(path);
    else this.#refused.add(path);
  }

  /** `record` is sent to a peer that holds POSIX names (`posix`) or not. */
  sending(record: FileRecord, posix: boolean | undefined): void {
    if (posix !== false) return;
    if (!record.deleted && wirePathProblem(record.path) !== null) {
      this.#withheld.add(record.path);
    } else this.#withheld.delete(record.path);
  }
}

/**
 * A deletion of a path neither we nor any peer ever had a record of: it
 * changes nothing here, so it is neither stored nor passed on. A flood of
 * 500,000 such tombstones grew the victim's index to 153 MB and, passed
 * on, an honest peer's to 152 MB (issue #19).
 */
export function neverSeen(
  local: { get?(path: string): FileRecord | undefined },
  remote: { knows?(path: string): boolean },
  path: string,
): boolean {
  if (local.get === undefined || remote.knows === undefined) return false;
  return local.get(path) === undefined && !remote.knows(path);
}
