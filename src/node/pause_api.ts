/**
 * `dsync pause` and `dsync resume`: hold every transfer and announcement of
 * the running node without dropping its connections or queued work. The
 * pause is remembered in `.dsync/paused`, so a node started again stays
 * paused until resumed (a user who paused did so for a reason a restart
 * does not end).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { PAUSED_FILE, STATE_DIR, toOsPath } from "../index/mod.ts";
import type { SyncEngine } from "../sync/mod.ts";
import type { ControlRoutes } from "./control_server.ts";

const log = getLogger(["dsync", "node"]);

/** `<state root>/.dsync/paused` */
export function pausedFilePath(stateRoot: string): string {
  return toOsPath(toOsPath(stateRoot, STATE_DIR), PAUSED_FILE);
}

/** Whether the folder was left paused. */
export async function wasPaused(stateRoot: string): Promise<boolean> {
  try {
    await Deno.lstat(pausedFilePath(stateRoot));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** What `POST /api/pause` and `POST /api/resume` answer. */
export interface PauseReply {
  readonly paused: boolean;
  /** It was already so. */
  readonly already: boolean;
  /** Held deletes accepted (`--accept-deletes`). */
  readonly accepted?: number;
}

/** `POST /api/pause` and `POST /api/resume` (`{ acceptDeletes: true }` applies held deletes). */
export function pauseRoutes(
  stateRoot: string,
  folder: string,
  engine: SyncEngine,
): ControlRoutes {
  const file = pausedFilePath(stateRoot);
  return {
    "POST /api/pause": async () => {
      const already = engine.paused;
      await Deno.writeTextFile(file, `${new Date().toISOString()}\n`);
      engine.pause();
      if (!already) {
        log.info(
          "Paused: nothing is sent or received until dsync resume -d {folder}",
          { folder },
        );
      }
      const reply: PauseReply = { paused: true, already };
      return { status: 200, body: reply };
    },
    "POST /api/resume": async (body) => {
      const accept = (body as { acceptDeletes?: unknown } | undefined)
        ?.acceptDeletes === true;
      const accepted = accept ? engine.acceptDeletes() : 0;
      if (accepted > 0) {
        log.info("Applying the {count} held deletes, as accepted", {
          count: accepted,
        });
      }
      const already = !engine.paused;
      await Deno.remove(file).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
      engine.resume();
      if (!already) log.info("Resumed: syncing again");
      const reply: PauseReply = { paused: false, already, accepted };
      return { status: 200, body: reply };
    },
  };
}
