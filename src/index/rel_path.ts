/**
 * Canonical relative paths: how a path inside the synced folder is named in
 * the index and on the wire (`/` separators, Unicode NFC, no `.` segments),
 * and how it turns back into an OS path.
 */

/** The platform path separator (`\` on Windows, `/` elsewhere). */
export const OS_SEP: string = Deno.build.os === "windows" ? "\\" : "/";

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
