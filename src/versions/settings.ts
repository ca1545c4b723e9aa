/**
 * Where versions live and how many are kept by default: 30 days, and at
 * most a tenth of the file system that holds them.
 * @module
 */

import { statfsSync } from "node:fs";
import { toOsPath, VERSIONS_DIR } from "../index/mod.ts";

/** Days a version is kept unless `versions_keep_days` says otherwise. */
export const DEFAULT_KEEP_DAYS = 30;

/** The versions directory inside a state directory. */
export function versionsDir(stateDir: string): string {
  return toOsPath(stateDir, VERSIONS_DIR);
}

/**
 * A tenth of the size of the file system that holds `path` (or its nearest
 * existing parent); `Infinity` where the size cannot be read.
 */
export function defaultMaxBytes(path: string): number {
  try {
    const fs = statfsSync(path);
    const bytes = Number(fs.blocks) * Number(fs.bsize);
    return Number.isFinite(bytes) && bytes > 0
      ? Math.floor(bytes / 10)
      : Infinity;
  } catch {
    return Infinity;
  }
}
