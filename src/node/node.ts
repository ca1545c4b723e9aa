import { getLogger } from "@logtape/logtape";
import {
  ensureIgnoreFile,
  HasherPool,
  IgnoreRules,
  IndexStore,
  Scanner,
  type ScanSummary,
} from "../index/mod.ts";
import { formatBytes, formatCount, formatDuration } from "../ui/mod.ts";
import { abortableSleep } from "./abortable_sleep.ts";
import { DEFAULT_RESCAN_INTERVAL_MS, type NodeConfig } from "./node_config.ts";

const log = getLogger(["dsync", "node"]);

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** One line that tells the user what the scan found. */
export function describeScan(summary: ScanSummary): string {
  const parts = [
    plural(summary.files, "file"),
    plural(summary.dirs, "folder"),
  ];
  if (summary.symlinks > 0) parts.push(plural(summary.symlinks, "symlink"));
  let line = `Indexed ${parts.join(", ")} (${formatBytes(summary.bytes)}) in ${
    formatDuration(summary.durationMs)
  }`;
  if (summary.hashedFiles > 0) {
    line += `; hashed ${plural(summary.hashedFiles, "changed file")} (${
      formatBytes(summary.hashedBytes)
    })`;
  }
  if (summary.deleted > 0) line += `; ${formatCount(summary.deleted)} deleted`;
  if (summary.errors > 0) {
    line += `; ${formatCount(summary.errors)} unreadable, skipped`;
  }
  return line;
}

/**
 * Runs a dsync node on `config.folder` until `signal` aborts: indexes the
 * folder, then keeps it indexed. Resolves after a clean shutdown with the
 * index closed and consistent.
 */
export async function runNode(
  config: NodeConfig,
  signal: AbortSignal,
): Promise<void> {
  await ensureIgnoreFile(config.folder);
  const ignore = await IgnoreRules.load(config.folder, config.excludes);
  const store = IndexStore.open(config.folder);
  const hasher = new HasherPool();
  try {
    const scanner = new Scanner({
      folder: config.folder,
      store,
      hasher,
      ignore,
    });
    log.info(describeScan(await scanner.scan()));
    const interval = config.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    while (!signal.aborted) {
      await abortableSleep(interval, signal);
      if (signal.aborted) break;
      const summary = await scanner.scan();
      log.debug(describeScan(summary));
    }
    log.info("Stopping");
  } finally {
    await hasher.close();
    store.close();
  }
}
