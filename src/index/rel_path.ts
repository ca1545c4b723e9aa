/**
 * Canonical relative paths: how a path inside the synced folder is named in
 * the index and on the wire (`/` separators, Unicode NFC, no `.` segments),
 * and how it turns back into an OS path.
 */

/** An operating system as `Deno.build.os` names it. */
export type PathPlatform = typeof Deno.build.os;

/** The path separator of `platform`: `\` on Windows, `/` elsewhere. */
export function separatorOf(platform: PathPlatform): "/" | "\\" {
  return platform === "windows" ? "\\" : "/";
}

/** The platform path separator (`\` on Windows, `/` elsewhere). */
export const OS_SEP: string = separatorOf(Deno.build.os);

/**
 * Turns a path relative to the folder, as the OS gives it, into the canonical
 * form: `/`-separated, NFC, without empty or `.` segments. `sep` is the OS
 * separator; on POSIX a backslash is an ordinary file-name character.
 */
export function toRelPath(osRelPath: string, sep: string = OS_SEP): string {
  const parts = osRelPath.split(sep === "\\" ? /[\\/]/ : "/");
  const kept: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    kept.push(part);
  }
  return kept.join("/").normalize("NFC");
}

/** Turns a canonical relative path into an OS path under `folder`. */
export function toOsPath(
  folder: string,
  relPath: string,
  sep: string = OS_SEP,
): string {
  if (relPath === "") return folder;
  const tail = sep === "/" ? relPath : relPath.split("/").join(sep);
  const endsWithSep = folder.endsWith(sep) || folder.endsWith("/");
  return endsWithSep ? folder + tail : folder + sep + tail;
}

/** Appends one file name (as read from a directory) to a canonical path. */
export function joinRel(parent: string, name: string): string {
  const nfc = name.normalize("NFC");
  return parent === "" ? nfc : `${parent}/${nfc}`;
}

/** The canonical parent of a canonical path (`""` for the folder root). */
export function parentRel(relPath: string): string {
  const cut = relPath.lastIndexOf("/");
  return cut < 0 ? "" : relPath.slice(0, cut);
}

/** The last segment of a canonical path. */
export function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf("/") + 1);
}

/** True when `relPath` is `ancestor` itself or lies below it. */
export function isWithin(relPath: string, ancestor: string): boolean {
  if (ancestor === "") return true;
  return relPath === ancestor ||
    (relPath.length > ancestor.length &&
      relPath.startsWith(ancestor) && relPath[ancestor.length] === "/");
}

/**
 * A path relative to the folder as `platform` names it (Windows: `\` or `/`
 * separators; macOS: names often in NFD) to its wire form: `/`-separated,
 * NFC, without empty or `.` segments. Whether the result is acceptable on
 * the wire is for `validateWirePath` to say (a POSIX name holding `\` or
 * `:` is not).
 */
export function nativeToWirePath(
  nativeRelPath: string,
  platform: PathPlatform,
): string {
  return toRelPath(nativeRelPath, separatorOf(platform));
}

/**
 * A wire path (validated: relative, `/`-separated, NFC) to the native path
 * under `folder` on `platform`, e.g. `C:\Sync` + `a/b.txt` →
 * `C:\Sync\a\b.txt` on Windows.
 */
export function wireToNativePath(
  folder: string,
  wirePath: string,
  platform: PathPlatform,
): string {
  return toOsPath(folder, wirePath, separatorOf(platform));
}
