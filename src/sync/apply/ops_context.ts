/**
 * What the local operations work on and what they are told to do: the
 * puller's decision for one path, and the folder, index, gate, echo
 * filter and versions they act with.
 * @module
 */
import type { FileRecord, IndexStore } from "../../index/mod.ts";
import type { VersionKeeper } from "../../versions/mod.ts";
import type { Action } from "./action.ts";
import type { ApplyGate } from "./apply_gate.ts";
import type { EchoFilter } from "./echo_filter.ts";

/** What the puller decided for one path. */
export interface Decision {
  readonly path: string;
  /** The local record when decided. */
  readonly local: FileRecord | undefined;
  /** The peer record to apply. */
  readonly remote: FileRecord;
  readonly action: Action;
  /** Other peers' records of the path also want work (plan again after this one). */
  readonly more: boolean;
}

/** What the local operations work on. */
export interface LocalOpsContext {
  readonly folder: string;
  readonly store: IndexStore;
  readonly gate: ApplyGate;
  readonly echo: EchoFilter;
  /**
   * Where a file that a peer's change replaces or deletes is kept first;
   * none when versioning is off.
   */
  readonly versions?: VersionKeeper;
  /** The name of the device whose change `record` is (for messages). */
  readonly sourceOf?: (record: FileRecord) => string | undefined;
}

/** Who made the peer's change `d` applies, for messages: its name, else "a peer". */
export function changedBy(ctx: LocalOpsContext, d: Decision): string {
  return ctx.sourceOf?.(d.remote) ?? "a peer";
}
