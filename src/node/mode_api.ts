/**
 * The control API of the folder modes: `dsync override` (send-only) and
 * `dsync revert` (receive-only). Each refuses, with a 409 the CLI prints
 * as one line, on a folder of another mode.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { SyncEngine } from "../sync/mod.ts";
import type { VersionStore } from "../versions/mod.ts";
import type { ControlRoutes } from "./control_server.ts";

const log = getLogger(["dsync", "node"]);

/** What `POST /api/override` answers. */
export interface OverrideReply {
  /** Paths whose local state now wins over the group's. */
  readonly paths: number;
}

/** What `POST /api/revert` answers. */
export interface RevertReply {
  readonly reverted: number;
  readonly skipped: number;
}

/** `POST /api/override` and `POST /api/revert`. */
export function modeRoutes(
  engine: SyncEngine,
  versions: VersionStore,
): ControlRoutes {
  const wrongMode = (command: string, mode: string) => ({
    status: 409,
    body: {
      error:
        `dsync ${command} is for a ${mode} folder; this one is ${engine.mode} (set with --mode or mode in dsync.toml)`,
    },
  });
  return {
    "POST /api/override": async () => {
      if (engine.mode !== "send-only") {
        return wrongMode("override", "send-only");
      }
      const paths = await engine.override();
      log.info(
        "Override: this folder's state of {count} files now wins; peers apply it",
        { count: paths.length },
      );
      const reply: OverrideReply = { paths: paths.length };
      return { status: 200, body: reply };
    },
    "POST /api/revert": async () => {
      if (engine.mode !== "receive-only") {
        return wrongMode("revert", "receive-only");
      }
      const outcome = await engine.revert(versions);
      log.info(
        "Revert: {count} local changes dropped (files kept in versions); pulling the group's",
        { count: outcome.reverted.length },
      );
      const reply: RevertReply = {
        reverted: outcome.reverted.length,
        skipped: outcome.skipped.length,
      };
      return { status: 200, body: reply };
    },
  };
}
