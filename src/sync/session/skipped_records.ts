/**
 * The log of a peer's refused records: the first few each, then only a
 * running count at powers of two, so a peer cannot flood the log (4096 bad
 * records fit in one batch).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { WireRecordError } from "./wire_record.ts";

const log = getLogger(["dsync", "sync", "session"]);

/** Refused records of one session logged one by one; later ones are counted. */
const SKIPPED_LOGGED = 20;

/** Refused records of one session; see the module comment. */
export class SkippedRecords {
  #count = 0;

  /** Logs that a record from `peer` was refused with `err`. */
  log(peer: string, err: WireRecordError): void {
    const n = ++this.#count;
    if (n <= SKIPPED_LOGGED) {
      log.warn("Skipping a record from {peer}: {name}: {message}", {
        peer,
        name: err.name,
        message: err.message,
      });
      return;
    }
    log.debug("Skipping a record from {peer}: {name}: {message}", {
      peer,
      name: err.name,
      message: err.message,
    });
    if ((n & (n - 1)) === 0) {
      log.warn(
        "Skipped {count} records from {peer} so far (only the first {logged} are logged one by one)",
        { count: n, peer, logged: SKIPPED_LOGGED },
      );
    }
  }
}
