/**
 * What the node does with a batch of changed paths from the watcher: a
 * batch naming `.dsyncignore` reloads the ignore rules and rescans
 * everything; "full" (the OS dropped events) rescans everything once the
 * puller is quiet; otherwise the paths that are only the echo of the
 * engine's own writes are skipped and the rest rescanned. The engine pushes
 * whatever the scan changed.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { IGNORE_FILE, type IgnoreRules } from "../index/mod.ts";
import type { SyncEngine } from "../sync/mod.ts";
import type { RescanBatch } from "../watch/mod.ts";

const log = getLogger(["dsync", "node"]);

/** Rescans what `batch` names through `engine`. */
export async function rescanBatch(
  engine: SyncEngine,
  ignore: IgnoreRules,
  batch: RescanBatch,
): Promise<void> {
  if (batch !== "full" && batch.includes(IGNORE_FILE)) {
    await ignore.refresh();
    await engine.scan("full");
    return;
  }
  if (batch === "full") {
    // Mostly an overflow of the OS event queue, often from our own writes.
    await engine.scanWhenQuiet();
    return;
  }
  const paths = batch.filter((path) => {
    const echo = engine.isEcho(path);
    // `-v` names every file event, as --help says.
    log.debug("File event on {path}{what}", {
      path,
      what: echo ? " (our own write, not a change)" : "",
    });
    return !echo;
  });
  if (paths.length > 0) await engine.scan(paths);
}
