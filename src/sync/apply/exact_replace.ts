/**
 * Replaces or removes exactly the entry the index holds, never one a local
 * program put there a moment before.
 *
 * A check followed by a rename leaves a window: a save that lands between
 * the two (an editor renaming its temp file into place, a program
 * rewriting the file) is replaced without anyone having seen it, and it is
 * gone on every device. Under load the window is milliseconds wide
 * (`deno task chaos --seed 210340` lost a write through it). So the old
 * entry is first renamed aside, inside the same directory; what was moved
 * is then compared with what the index holds, which is exact whatever
 * happened before the move; and the new file is hard-linked into place,
 * which fails rather than replace anything that appeared after it. A moved
 * entry that turns out to be a local change goes straight back (or, when
 * something new took its place meanwhile, under a conflict name); a new
 * entry in the way is left alone. Either way the caller gets
 * {@linkcode LocalChangeError}: rescan, plan again, nothing lost.
 *
 * The cost: for the few microseconds between the two steps the path is
 * absent, as it is while an editor with backup files saves. Where hard
 * links are not available (some network and FAT file systems) the new
 * file is renamed into place instead, which narrows but does not close
 * the window for an entry appearing there.
 * @module
 */
import type { StoredStat } from "../../index/mod.ts";
import { conflictName } from "./conflict_name.ts";
import { LocalChangeError } from "./errors.ts";
import { lstatOrUndefined } from "./file_mode.ts";
import { registerPart, releasePart } from "./part_registry.ts";
import { localChangeOf } from "./safe_paths.ts";

/** What {@linkcode replaceExactly} and {@linkcode removeExactly} need. */
export interface ExactTarget {
  /** Folder-relative path, for errors. */
  readonly relPath: string;
  /** OS path of the entry. */
  readonly osPath: string;
  /**
   * A free OS path in the same directory to move the old entry to: a
   * dsync `.part` name (see `partName`), so that scans ignore it and a
   * crash leaves nothing the stray-part cleanup does not remove.
   */
  readonly asideOsPath: string;
  /** What the index holds there (undefined or a tombstone: nothing). */
  readonly expected: StoredStat | undefined;
  /**
   * The tag of this replica for a conflict name (first 8 hex digits of
   * its id): a local change found moved aside whose place something new
   * took meanwhile is kept under that name. "LOCAL" when not given.
   */
  readonly conflictTag?: string;
  /**
   * Takes the old entry, moved aside to `asidePath`, once it is known to
   * be exactly what the index held (e.g. to keep it as a version);
   * without it, the old entry is removed.
   */
  readonly takeOld?: (asidePath: string) => void;
  /** Test seam: runs between moving the old entry aside and placing the new one. */
  readonly between?: () => void;
}

function conflictOsPath(t: ExactTarget): string {
  const name = conflictName(t.relPath, new Date(), t.conflictTag ?? "LOCAL");
  const cut = Math.max(t.osPath.lastIndexOf("/"), t.osPath.lastIndexOf("\\"));
  return t.osPath.slice(0, cut + 1) + name.slice(name.lastIndexOf("/") + 1);
}

function notFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

function linksUnsupported(err: unknown): boolean {
  return err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotSupported ||
    /not supported|os error (1|18|95)\)/i.test(String(err));
}

function removeQuietly(osPath: string): void {
  try {
    Deno.removeSync(osPath);
  } catch {
    // Gone already, or the stray-part cleanup removes it later.
  }
}

/**
 * Moves the entry at `t.osPath` aside when the index holds a live one
 * there. Returns the aside path (undefined when nothing was there), after
 * checking it is exactly what the index holds; otherwise puts it back and
 * throws {@linkcode LocalChangeError}.
 */
function moveOldAside(t: ExactTarget): string | undefined {
  const current = lstatOrUndefined(t.osPath);
  const early = localChangeOf(current, t.expected);
  if (early !== undefined) {
    throw new LocalChangeError(
      t.relPath,
      `Local change at "${t.relPath}": ${early}`,
    );
  }
  if (current === undefined) return undefined;
  const aside = t.asideOsPath;
  registerPart(aside);
  try {
    Deno.renameSync(t.osPath, aside);
  } catch (err) {
    releasePart(aside);
    if (notFound(err)) return undefined; // removed meanwhile: nothing to keep
    throw err;
  }
  const problem = localChangeOf(lstatOrUndefined(aside), t.expected);
  if (problem === undefined) return aside;
  putBack(t, aside);
  throw new LocalChangeError(
    t.relPath,
    `Local change at "${t.relPath}": ${problem}`,
  );
}

/** Returns a local change moved aside to its name, or to a conflict name when its place was taken. */
function putBack(t: ExactTarget, aside: string): void {
  try {
    try {
      Deno.linkSync(aside, t.osPath);
      Deno.removeSync(aside);
      return;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        if (!linksUnsupported(err)) throw err;
        if (lstatOrUndefined(t.osPath) === undefined) {
          Deno.renameSync(aside, t.osPath);
          return;
        }
      }
    }
    // Something new is at the name: both are local writes; keep this one too.
    Deno.renameSync(aside, conflictOsPath(t));
  } finally {
    releasePart(aside);
  }
}

function disposeOld(t: ExactTarget, aside: string | undefined): void {
  if (aside === undefined) return;
  try {
    if (t.takeOld !== undefined) t.takeOld(aside);
    else removeQuietly(aside);
  } finally {
    releasePart(aside);
  }
}

/**
 * Puts the verified file `partPath` at `t.osPath` in place of exactly what
 * the index holds there (nothing, or the entry `t.expected` describes).
 * Throws {@linkcode LocalChangeError}, leaving every local entry in place
 * (the `.part` stays for the caller to remove), when anything else is
 * there or appears meanwhile.
 */
export function replaceExactly(t: ExactTarget, partPath: string): void {
  // Where the index holds nothing, there is nothing to move aside, and the
  // hard link below fails on any entry that is there: no look first (a
  // look that finds nothing throws NotFound, which was a fifth of the main
  // thread's time placing 100,000 new small files).
  const expectsNothing = t.expected === undefined || t.expected.deleted;
  const aside = expectsNothing ? undefined : moveOldAside(t);
  t.between?.();
  try {
    Deno.linkSync(partPath, t.osPath);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      // An entry the index has not seen is there (or appeared where the
      // old one was): a local write the peer's change did not see.
      disposeOld(t, aside);
      throw new LocalChangeError(
        t.relPath,
        `Local change at "${t.relPath}": ${
          expectsNothing
            ? "an entry the index has not seen is there"
            : "an entry appeared while it was replaced"
        }`,
      );
    }
    if (!linksUnsupported(err)) {
      if (aside !== undefined) putBack(t, aside);
      throw err;
    }
    if (expectsNothing) moveOldAside(t); // throws on an entry there
    Deno.renameSync(partPath, t.osPath);
    disposeOld(t, aside);
    return;
  }
  removeQuietly(partPath);
  disposeOld(t, aside);
}

/**
 * Removes exactly the entry the index holds at `t.osPath` (a file or a
 * symlink; `t.expected` must be live). Returns false when nothing was
 * there. Throws {@linkcode LocalChangeError}, leaving the entry, when it
 * is not what the index holds.
 */
export function removeExactly(t: ExactTarget): boolean {
  const aside = moveOldAside(t);
  t.between?.();
  disposeOld(t, aside);
  return aside !== undefined;
}
