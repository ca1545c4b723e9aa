/**
 * Validation of paths received from (or sent to) a peer. A wire path is
 * relative, `/`-separated and NFC, never leaves the synced folder and has
 * no control characters or backslashes. Which names a file system can hold
 * differs: under Windows rules (`"windows"`) the characters `<>:"|?*`,
 * trailing dots and spaces, drive letters and device names are refused as
 * well; under POSIX rules (`"posix"`: Linux, macOS) they are names like any.
 * The wire carries any name POSIX rules allow; each side applies its own
 * rules to what it receives, and peers say theirs in `Hello`.
 */
import { InvalidPathError, type InvalidPathReason } from "./errors.ts";
import { MAX_NAME_COMPONENT_BYTES, MAX_PATH_BYTES } from "./limits.ts";

// Device names Windows resolves in every directory, with or without an
// extension ("con.txt" opens the console). COM0/LPT0 and the superscript-digit
// forms are in Microsoft's current list; CONIN$/CONOUT$ are console handles.
const RESERVED_STEMS: ReadonlySet<string> = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  "CONIN$",
  "CONOUT$",
  ...["COM", "LPT"].flatMap((p) =>
    [..."0123456789\u00b9\u00b2\u00b3"].map((d) => p + d)
  ),
]);

/** Which names a file system can hold (see the module comment). */
export type NamingRules = "windows" | "posix";

/** The rules of the file system dsync runs on by default. */
export const LOCAL_NAMING_RULES: NamingRules = Deno.build.os === "windows"
  ? "windows"
  : "posix";

const SLASH = 0x2f;
const DOT = 0x2e;
const SPACE = 0x20;

/** True for the characters Windows refuses in a name (besides `/`, `\` and controls). */
function isWindowsForbidden(c: number): boolean {
  // < > : " | ? *
  return c === 0x3c || c === 0x3e || c === 0x3a || c === 0x22 ||
    c === 0x7c || c === 0x3f || c === 0x2a;
}

function componentProblem(
  path: string,
  start: number,
  end: number,
  bytes: number,
  windows: boolean,
): InvalidPathReason | null {
  const length = end - start;
  if (length === 0) return "empty component";
  const first = path.charCodeAt(start);
  if (
    first === DOT &&
    (length === 1 || (length === 2 && path.charCodeAt(start + 1) === DOT))
  ) {
    return "dot component";
  }
  if (bytes > MAX_NAME_COMPONENT_BYTES) return "component too long";
  if (!windows) return null;
  const last = path.charCodeAt(end - 1);
  if (last === DOT || last === SPACE) return "trailing dot or space";
  // Reserved stems are 3 to 7 characters before the first dot (spaces
  // before the dot are ignored by Windows: "con .txt" is the console too).
  const lower = first | 0x20;
  if (
    lower === 0x63 || lower === 0x70 || lower === 0x61 || lower === 0x6e ||
    lower === 0x6c
  ) {
    let stemEnd = path.indexOf(".", start);
    if (stemEnd < 0 || stemEnd > end) stemEnd = end;
    while (stemEnd > start && path.charCodeAt(stemEnd - 1) === SPACE) stemEnd--;
    const stemLength = stemEnd - start;
    if (
      stemLength >= 3 && stemLength <= 7 &&
      RESERVED_STEMS.has(path.slice(start, stemEnd).toUpperCase())
    ) {
      return "reserved Windows name";
    }
  }
  return null;
}

/**
 * Why `path` is not a valid wire path, or `null` when it is. The
 * non-throwing form of {@linkcode validateWirePath}, for callers (such as a
 * scanner meeting a local name) that skip rather than fail.
 */
export function wirePathProblem(
  path: string,
  rules: NamingRules = "windows",
): InvalidPathReason | null {
  const windows = rules === "windows";
  if (typeof path !== "string") return "not a string";
  const n = path.length;
  if (n === 0) return "empty";
  // Every UTF-16 unit is at least one UTF-8 byte.
  if (n > MAX_PATH_BYTES) return "too long";
  const c0 = path.charCodeAt(0);
  if (c0 === SLASH) return "absolute";
  if (
    windows && n >= 2 && path.charCodeAt(1) === 0x3a &&
    ((c0 | 0x20) >= 0x61 && (c0 | 0x20) <= 0x7a)
  ) {
    return "drive letter";
  }
  let total = 0;
  let componentStart = 0;
  let componentBytes = 0;
  let maxUnit = 0;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c > maxUnit) maxUnit = c;
    if (c < 0x80) {
      if (c === SLASH) {
        const problem = componentProblem(
          path,
          componentStart,
          i,
          componentBytes,
          windows,
        );
        if (problem !== null) return problem;
        total += componentBytes + 1;
        componentStart = i + 1;
        componentBytes = 0;
        continue;
      }
      if (c < 0x20 || c === 0x7f) return "control character";
      if (c === 0x5c) return "backslash";
      if (windows && isWindowsForbidden(c)) {
        return "character not allowed on Windows";
      }
      componentBytes += 1;
    } else if (c < 0x800) {
      componentBytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? path.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        return "not well-formed Unicode";
      }
      componentBytes += 4;
      i++;
    } else {
      componentBytes += 3;
    }
  }
  const problem = componentProblem(
    path,
    componentStart,
    n,
    componentBytes,
    windows,
  );
  if (problem !== null) return problem;
  total += componentBytes;
  if (total > MAX_PATH_BYTES) return "too long";
  // Code points below U+0300 are NFC on their own and never combine with a
  // predecessor, so only strings reaching the combining marks need the check.
  if (maxUnit >= 0x300 && path.normalize("NFC") !== path) return "not NFC";
  return null;
}

/**
 * Throws {@linkcode InvalidPathError} naming the rule `path` breaks: it must
 * be non-empty, relative, `/`-separated, NFC, well-formed Unicode, at most
 * 4096 UTF-8 bytes with components of at most 255; without empty, `.` or `..`
 * components, backslashes, control characters (U+0000–U+001F, U+007F), the
 * characters `<>:"|?*`, drive letters, trailing dots or spaces, or Windows
 * device names (CON, PRN, AUX, NUL, COM0–9, LPT0–9, CONIN$, CONOUT$, with or
 * without an extension, in any case).
 */
export function validateWirePath(path: string): void {
  const problem = wirePathProblem(path);
  if (problem !== null) {
    throw new InvalidPathError(
      typeof path === "string" ? path : typeof path,
      problem,
    );
  }
}

/**
 * A key under which paths that a case-insensitive file system would store as
 * one entry are equal: NFC, then full Unicode upper-casing
 * (`String.prototype.toUpperCase`, locale-independent), then NFC again.
 * Deliberately coarser than NTFS or APFS folding (`"ß"` and `"SS"` share a
 * key, as do `"σ"` and `"ς"`): a false collision refuses one file, a missed
 * one would let two files overwrite each other.
 */
export function caseFoldKey(path: string): string {
  return path.normalize("NFC").toUpperCase().normalize("NFC");
}
