/**
 * The paths where the folder's mode keeps a peer's change from being
 * applied (send-only: every path that differs from the group;
 * receive-only: local changes the group has newer records of). The
 * puller asks for each decision; the status reports the set.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Decision } from "../apply/mod.ts";
import { type FolderMode, holdsBack, isLocalChange } from "./folder_mode.ts";
import type { RemoteRecords } from "./pull_context.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Paths held back by the folder's mode; see the module comment. */
export class ModeHold {
  readonly #mode: FolderMode;
  readonly #remote: RemoteRecords;
  readonly #paths = new Set<string>();

  constructor(mode: FolderMode, remote: RemoteRecords) {
    this.#mode = mode;
    this.#remote = remote;
  }

  /** The paths held back now. */
  get paths(): ReadonlySet<string> {
    return this.#paths;
  }

  /**
   * Whether the decision for `path` (undefined: nothing to do) is held
   * back; the set follows.
   */
  holds(path: string, d: Decision | undefined): boolean {
    if (d === undefined || !this.#judge(d)) {
      this.#paths.delete(path);
      return false;
    }
    return true;
  }

  #judge(d: Decision): boolean {
    const mode = this.#mode;
    if (mode === "send-receive") return false;
    const local = mode === "receive-only" &&
      isLocalChange(
        d.local,
        this.#remote.recordsFor(d.path).map((r) => r.record),
      );
    if (!holdsBack(mode, d.action, local)) return false;
    if (!this.#paths.has(d.path)) {
      this.#paths.add(d.path);
      log.debug(
        mode === "send-only"
          ? "Not applying a peer's change of {path}: this folder is send-only"
          : "Keeping the local change of {path}: this folder is receive-only",
        { path: d.path },
      );
    }
    return true;
  }
}
