/**
 * Making a rename durable: the directory that holds it is fsynced after it.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { parentRel, toOsPath } from "../../index/mod.ts";

const log = getLogger(["dsync", "sync", "atomic_writer"]);

const IS_WINDOWS = Deno.build.os === "windows";

/** The OS path of the directory that holds canonical `relPath`. */
export function parentOsPath(folder: string, relPath: string): string {
  return toOsPath(folder, parentRel(relPath));
}

/**
 * Fsyncs directory `osDir` so a rename in it is durable. A no-op on
 * Windows, where Deno cannot open a directory.
 */
export async function syncDir(osDir: string): Promise<void> {
  if (IS_WINDOWS) return;
  using dir = await Deno.open(osDir, { read: true });
  await dir.syncData();
}

/** {@linkcode syncDir}, logging a failure: the rename it follows has happened. */
export async function syncDirLogged(osDir: string): Promise<void> {
  try {
    await syncDir(osDir);
  } catch (err) {
    log.warn("Cannot fsync directory {dir}: {error}", {
      dir: osDir,
      error: String(err),
    });
  }
}
