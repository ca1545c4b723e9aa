/**
 * The text of `dsync versions`: one version a line, newest first, with the
 * stamp that `dsync restore --at` takes. Pure.
 * @module
 */

import { formatBytes } from "../ui/mod.ts";
import { formatStamp, type KeptVersion } from "../versions/mod.ts";

/** Lines listing `versions` (given newest first). */
export function renderVersionList(versions: readonly KeptVersion[]): string[] {
  const rows = versions.map((v) => {
    const iso = new Date(v.at).toISOString().replace("T", " ").replace(
      ".000Z",
      " UTC",
    );
    return [v.path, iso, formatBytes(v.size), `--at ${formatStamp(v.at)}`];
  });
  const widths = [0, 1, 2].map((i) =>
    Math.max(
      ...rows.map((r) => r[i]!.length),
      ["PATH", "TIME", "SIZE"][i]!.length,
    )
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => i < 3 ? c.padEnd(widths[i]!) : c).join("  ").trimEnd();
  return [line(["PATH", "TIME", "SIZE", "RESTORE WITH"]), ...rows.map(line)];
}
