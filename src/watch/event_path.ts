/**
 * From the absolute paths of file-system events to canonical paths relative
 * to the watched folder, and which of them the watcher never reports.
 */

import { resolve } from "node:path";
import { IGNORE_FILE, OS_SEP, toRelPath } from "../index/mod.ts";

export { isInternalPath } from "./internal_path.ts";

/**
 * The absolute paths events under `folder` may be reported with: the folder
 * made absolute and, when it differs, its real path (symlinks resolved).
 */
export function folderRoots(folder: string): string[] {
  const roots = [resolve(folder)];
  try {
    const real = Deno.realPathSync(folder);
    if (!roots.includes(real)) roots.push(real);
  } catch {
    // Watching it fails too, and says why.
  }
  return roots;
}

/** Removes trailing separators, keeping a lone root such as `/` or `C:\`. */
function trimSeparators(path: string, sep: string): string {
  let end = path.length;
  while (end > 1 && (path[end - 1] === sep || path[end - 1] === "/")) end--;
  if (sep === "\\" && end === 2 && path[1] === ":") end = 3;
  return path.slice(0, end);
}

/**
 * Drops the Win32 extended-length prefix: `\\?\C:\x` is `C:\x` and
 * `\\?\UNC\host\share` is `\\host\share`; Windows APIs return either.
 */
function withoutVerbatimPrefix(path: string, sep: string): string {
  if (sep !== "\\" || !path.startsWith("\\\\?\\")) return path;
  const rest = path.slice(4);
  return /^UNC\\/i.test(rest) ? `\\${rest.slice(3)}` : rest;
}

/**
 * Turns `absPath` into a canonical relative path (`/`-separated, NFC) when
 * it lies in one of `roots` (the folder as given and its real path, which
 * differ under symlinks such as macOS `/var`), else undefined. The folder
 * itself is `""`. `caseInsensitive` compares the root part ignoring case.
 * Both sides are compared in NFC, since macOS may report a folder typed in
 * NFC with its name in NFD, and without the Windows `\\?\` prefix.
 */
export function eventRelPath(
  absPath: string,
  roots: readonly string[],
  sep: string = OS_SEP,
  caseInsensitive: boolean = sep === "\\",
): string | undefined {
  const fold = (s: string) => caseInsensitive ? s.toLowerCase() : s;
  const abs = withoutVerbatimPrefix(absPath, sep).normalize("NFC");
  for (const rawRoot of roots) {
    const root = trimSeparators(
      withoutVerbatimPrefix(rawRoot, sep).normalize("NFC"),
      sep,
    );
    if (fold(abs.slice(0, root.length)) !== fold(root)) continue;
    if (abs.length === root.length) return "";
    const next = abs[root.length];
    const atBoundary = root.endsWith(sep) || root.endsWith("/") ||
      next === sep || (sep === "\\" && next === "/");
    if (atBoundary) return toRelPath(abs.slice(root.length), sep);
  }
  return undefined;
}

/** True for the folder's own ignore file, reported even though it is ignored. */
export function isIgnoreFile(relPath: string): boolean {
  return relPath === IGNORE_FILE;
}
