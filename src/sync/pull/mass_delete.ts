/**
 * The puller's side of the mass-delete guard ({@linkcode DeleteGuard}):
 * each round's deletes are judged before they are applied, and once a
 * peer would delete more than half of the files here, none of it is
 * applied until the user accepts (`dsync resume --accept-deletes`).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Decision } from "../apply/mod.ts";
import { DeleteGuard } from "./delete_guard.ts";
import type { PullerOptions } from "./pull_context.ts";

const log = getLogger(["dsync", "sync", "puller"]);

/** Judges the deletes of each round; see the module comment. */
export class MassDeleteCheck {
  readonly guard = new DeleteGuard();
  readonly #o: Pick<PullerOptions, "liveFiles" | "nameOf" | "remote">;

  constructor(o: Pick<PullerOptions, "liveFiles" | "nameOf" | "remote">) {
    this.#o = o;
  }

  /** Paths whose delete the guard holds. */
  get held(): number {
    return this.guard.held.size;
  }

  /** The deletes of a round that the guard lets through (at `now`). */
  pass(ds: Decision[], now: number): Decision[] {
    const liveFiles = this.#o.liveFiles;
    if (ds.length === 0 || liveFiles === undefined) return ds;
    const files = ds.filter((d) => d.local?.kind === "file").length;
    const before = this.guard.held.size;
    const verdict = this.guard.judge(
      ds.map((d) => d.path),
      files,
      liveFiles(),
      now,
    );
    if (verdict === "apply") return ds;
    if (before === 0) {
      const replica = this.#o.remote.recordsFor(ds[0]!.path).find((r) =>
        r.record.deleted
      )?.replica;
      const peer =
        (replica === undefined ? undefined : this.#o.nameOf?.(replica)) ??
          "a peer";
      log.warn(
        "{peer} would delete {count} of the {files} files here; nothing of it is applied. If that is right: dsync resume -d DIR --accept-deletes",
        { peer, count: this.guard.held.size, files: liveFiles() },
      );
    }
    return [];
  }
}
