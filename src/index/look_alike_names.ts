/**
 * Names that lie. A right-to-left override makes `\u202egnp.exe` read as
 * "exe.png", a zero-width space makes two different names look equal, and
 * `Notes.txt` beside `notes.txt` is one file on a case-insensitive disk and
 * two on this one. Such names are legal on disk and sync like any other
 * (refusing them would split the group between devices that have them and
 * devices that do not), but dsync never shows them raw (`ui/visible_text.ts`)
 * and lists them in `dsync status`, so a person can see and fix them. Pure.
 * @module
 */

/**
 * Invisible format characters: bidi embeddings, overrides and isolates,
 * marks, zero-width characters, the BOM, soft hyphen (all of Unicode's Cf),
 * plus controls and the line/paragraph separators.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const INVISIBLE_ALL = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** True when `path` holds a character that is not shown, or reorders text. */
export function hasInvisibleCharacter(path: string): boolean {
  return INVISIBLE.test(path);
}

/**
 * The form two names share when a person cannot tell them apart: without
 * invisible characters, compatibility-normalised (NFKC), upper-cased.
 */
export function lookAlikeKey(path: string): string {
  return path.replace(INVISIBLE_ALL, "").normalize("NFKC").toUpperCase()
    .normalize("NFKC");
}

/** What {@linkcode findLookAlikes} reports. */
export interface LookAlikeReport {
  /** Groups of two or more paths that differ only by case, normalisation or invisible characters. */
  readonly twins: readonly (readonly string[])[];
  /** Paths that hold invisible or reordering characters. */
  readonly invisible: readonly string[];
  /** True when more were found than reported. */
  readonly truncated: boolean;
}

/** Finds look-alike twins and invisible characters among live `paths`, at most `limit` of each. */
export function findLookAlikes(
  paths: Iterable<string>,
  limit = 100,
): LookAlikeReport {
  const byKey = new Map<string, string[]>();
  const invisible: string[] = [];
  let truncated = false;
  for (const path of paths) {
    if (hasInvisibleCharacter(path)) {
      if (invisible.length < limit) invisible.push(path);
      else truncated = true;
    }
    const key = lookAlikeKey(path);
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [path]);
    else group.push(path);
  }
  const twins: string[][] = [];
  for (const group of byKey.values()) {
    if (group.length < 2) continue;
    if (twins.length >= limit) {
      truncated = true;
      break;
    }
    twins.push(group.sort());
  }
  twins.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return { twins, invisible: invisible.sort(), truncated };
}
