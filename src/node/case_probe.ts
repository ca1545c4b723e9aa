/**
 * Whether the synced folder's file system folds the case of names. Ignore
 * rules and the engine must agree with the disk on it: on a case-folding
 * disk `Notes.txt` and `notes.txt` are one file.
 *
 * With `.dsync/` in the folder the probe writes a file there
 * (`detectCaseInsensitive`). With `--state-dir` the folder may be
 * read-only, and the state directory may be on another file system, so
 * the probe looks up an existing entry of the folder under its name with
 * the case swapped: the same entry back means case-folding, none (or
 * another one) means case-sensitive. Only a folder that holds no name with
 * letters gets a probe file written (and removed) in it, and only a
 * read-only one is skipped, with the reason, taking the platform's default.
 * @module
 */
import { toOsPath } from "../index/mod.ts";

/** What the probe found, and how. */
export interface CaseProbe {
  readonly caseInsensitive: boolean;
  /** `stat`: an entry looked up in swapped case; `write`: a probe file; `skipped`: neither could be done. */
  readonly how: "stat" | "write" | "skipped";
  /** What was compared, or why the probe was skipped. */
  readonly detail: string;
}

/** Most entries looked at for a name with letters. */
export const PROBE_ENTRIES = 1000;

/**
 * `name` with the case of its ASCII letters swapped (every case-folding
 * file system folds those; not all fold others), or undefined when it has
 * none. Pure.
 */
export function caseVariant(name: string): string | undefined {
  const out = name.replace(
    /[A-Za-z]/g,
    (ch) => ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase(),
  );
  return out === name ? undefined : out;
}

/** The identity of an entry, as `lstat` gives it. */
export interface EntryId {
  readonly dev: number | null;
  readonly ino: number | null;
}

/**
 * Whether looking up an entry (`original`) under its swapped-case name
 * found the same entry (`variant`; `"missing"` when nothing is there):
 * true means the file system folds case. Pure.
 */
export function foldsCase(
  original: EntryId,
  variant: EntryId | "missing",
): boolean {
  if (variant === "missing") return false;
  if (original.ino === null || variant.ino === null) return true;
  return original.dev === variant.dev && original.ino === variant.ino;
}

function idOf(info: Deno.FileInfo): EntryId {
  return { dev: info.dev, ino: info.ino };
}

/** A name with letters in `folder` (breadth first, bounded), as a relative path. */
async function findCasedEntry(
  folder: string,
  skip: (rel: string) => boolean,
): Promise<string | undefined> {
  const dirs = [""];
  let seen = 0;
  while (dirs.length > 0 && seen < PROBE_ENTRIES) {
    const dir = dirs.shift()!;
    try {
      for await (const entry of Deno.readDir(toOsPath(folder, dir))) {
        const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
        if (skip(rel)) continue;
        if (++seen > PROBE_ENTRIES) break;
        if (caseVariant(entry.name) !== undefined) return rel;
        if (entry.isDirectory) dirs.push(rel);
      }
    } catch {
      // An unreadable subfolder: look elsewhere.
    }
  }
  return undefined;
}

/** Options of {@linkcode probeCase}; for tests. */
export interface CaseProbeOptions {
  /** Relative paths not to look at (dsync's own files). */
  readonly skip?: (rel: string) => boolean;
  /** Writes an empty probe file (default `Deno.writeFile`). */
  readonly write?: (path: string) => Promise<void>;
  /** What to assume when nothing can be probed (default: Linux folds no case). */
  readonly platformDefault?: boolean;
}

/** Probes `folder` without writing when it holds a name with letters; see the module comment. */
export async function probeCase(
  folder: string,
  options: CaseProbeOptions = {},
): Promise<CaseProbe> {
  const rel = await findCasedEntry(folder, options.skip ?? (() => false));
  if (rel !== undefined) {
    const slash = rel.lastIndexOf("/");
    const swapped = rel.slice(0, slash + 1) +
      caseVariant(rel.slice(slash + 1))!;
    const original = idOf(await Deno.lstat(toOsPath(folder, rel)));
    let variant: EntryId | "missing";
    try {
      variant = idOf(await Deno.lstat(toOsPath(folder, swapped)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      variant = "missing";
    }
    return {
      caseInsensitive: foldsCase(original, variant),
      how: "stat",
      detail: `looked up ${rel} as ${swapped}`,
    };
  }
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const lower = toOsPath(folder, `.dsync-case-probe-${tag}.tmp`);
  const upper = toOsPath(folder, `.DSYNC-CASE-PROBE-${tag.toUpperCase()}.TMP`);
  const write = options.write ??
    ((path: string) =>
      Deno.writeFile(path, new Uint8Array(), { createNew: true }));
  const fallback = options.platformDefault ?? Deno.build.os !== "linux";
  try {
    await write(lower);
  } catch (error) {
    return {
      caseInsensitive: fallback,
      how: "skipped",
      detail: `the folder holds no name with letters and cannot be written (${
        error instanceof Error ? error.message : String(error)
      }); assumed case-${fallback ? "insensitive" : "sensitive"}`,
    };
  }
  try {
    await Deno.lstat(upper);
    return { caseInsensitive: true, how: "write", detail: "probe file" };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return { caseInsensitive: false, how: "write", detail: "probe file" };
  } finally {
    await Deno.remove(lower).catch(() => {});
  }
}
