/**
 * The control API's restore: `dsync restore` on a running instance goes
 * through it, so the restore happens while no peer's change is being put
 * in place, and is scanned and announced at once.
 * @module
 */

import type { SyncEngine } from "../sync/mod.ts";
import {
  RestoreError,
  restorePath,
  restoreVersion,
  versionsDir,
  VersionStore,
} from "../versions/mod.ts";
import { STATE_DIR, toOsPath } from "../index/mod.ts";
import type { ControlRoutes } from "./control_server.ts";
import { FolderLock } from "./folder_lock.ts";

/** What `POST /api/restore` answers. */
export interface RestoreReply {
  readonly path: string;
  /** Epoch ms of the version restored. */
  readonly at: number;
  /** The version the replaced file became, if one was there. */
  readonly kept?: string;
}

/** How many versions `GET /api/versions` lists at most (the newest). */
export const VERSIONS_LISTED = 500;

/**
 * `GET /api/versions`: the newest kept versions (`path`, `at` in epoch ms,
 * `size`, newest first, at most {@linkcode VERSIONS_LISTED}) and `total`;
 * `POST /api/restore` with `{ path, at? }` (`at` in epoch ms).
 */
export function versionRoutes(
  versions: VersionStore,
  engine: SyncEngine,
): ControlRoutes {
  return {
    "GET /api/versions": async () => {
      const all = await versions.list();
      const newest = all.toSorted((a, b) => b.at - a.at || b.serial - a.serial);
      return {
        status: 200,
        body: {
          total: all.length,
          versions: newest.slice(0, VERSIONS_LISTED).map((v) => ({
            path: v.path,
            at: v.at,
            size: v.size,
          })),
        },
      };
    },
    "POST /api/restore": async (body) => {
      const { path, at } = (body ?? {}) as { path?: unknown; at?: unknown };
      if (
        typeof path !== "string" ||
        (at !== undefined && (typeof at !== "number" || !Number.isFinite(at)))
      ) {
        return { status: 400, body: { error: "Expected { path, at? }" } };
      }
      try {
        const rel = restorePath(path);
        const outcome = await engine.applyLocal(
          [rel],
          () => restoreVersion(versions, rel, at),
        );
        const reply: RestoreReply = {
          path: rel,
          at: outcome.restored.at,
          ...(outcome.kept === undefined ? {} : { kept: outcome.kept }),
        };
        return { status: 200, body: reply };
      } catch (error) {
        if (error instanceof RestoreError) {
          return { status: 400, body: { error: error.message } };
        }
        throw error;
      }
    },
  };
}

/** The versions of `folder` (in the `.dsync/` of `stateRoot`, by default the folder). */
export function folderVersions(
  folder: string,
  stateRoot = folder,
): VersionStore {
  return new VersionStore({
    folder,
    root: versionsDir(toOsPath(stateRoot, STATE_DIR)),
  });
}

/**
 * Restores a version of `path` in `folder` while no instance runs for it:
 * holds the folder's lock meanwhile (an instance that starts waits for
 * nothing, it fails with `FolderInUseError` and says so). The next start
 * scans the restored file and announces it like any edit.
 */
export async function restoreInFolder(
  folder: string,
  path: string,
  at?: number,
  stateRoot = folder,
): Promise<RestoreReply> {
  const lock = await FolderLock.acquire(stateRoot, folder);
  try {
    const rel = restorePath(path);
    const outcome = await restoreVersion(
      folderVersions(folder, stateRoot),
      rel,
      at,
    );
    return {
      path: rel,
      at: outcome.restored.at,
      ...(outcome.kept === undefined ? {} : { kept: outcome.kept }),
    };
  } finally {
    lock.release();
  }
}
