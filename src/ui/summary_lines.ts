/**
 * The log's one-line summaries: what a scan found, and what a run moved.
 * Pure: the figures in, one line of text out.
 * @module
 */
import { formatBytes, formatCount, formatDuration, plural } from "./format.ts";

/** The figures of a scan that {@linkcode describeScan} reports (a `ScanSummary`). */
export interface ScanFigures {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
  readonly hashedFiles: number;
  readonly hashedBytes: number;
  readonly deleted: number;
  readonly errors: number;
  readonly durationMs: number;
}

/** The byte counts of a run that {@linkcode describeTotals} reports (`RunTotals`). */
export interface TransferTotals {
  readonly received: number;
  readonly sent: number;
  readonly reused: number;
  readonly resumed: number;
}

/** One line that tells the user what the scan found. */
export function describeScan(summary: ScanFigures): string {
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

/** The end-of-run line: what crossed the network and what was reused. */
export function describeTotals(totals: TransferTotals): string {
  return `Received ${
    formatBytes(totals.received)
  } of file data from peers, sent ${formatBytes(totals.sent)}, reused ${
    formatBytes(totals.reused)
  } from local files, ${formatBytes(totals.resumed)} from resumed .part files`;
}
