/**
 * The versions kept of a folder, under `.dsync/versions/` (or the state
 * directory given with `--state-dir`): what a peer's change replaced or
 * deleted is moved there, not copied, right before the change is applied,
 * so keeping it costs one rename. Where the versions live on another file
 * system than the folder (a state directory elsewhere), the file is copied
 * and then removed. The directory sits in `.dsync/`, which is never
 * scanned, announced or served.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { dirname } from "node:path";
import { joinRel, toOsPath } from "../index/mod.ts";
import {
  parseVersionName,
  type VersionName,
  versionName,
} from "./version_name.ts";
import {
  type RetentionPolicy,
  versionsToFree,
  versionsToPrune,
} from "./retention.ts";

const log = getLogger(["dsync", "versions"]);

/** One kept version. */
export interface KeptVersion extends VersionName {
  /** Its name relative to the versions directory (`/`-separated). */
  readonly name: string;
  readonly size: number;
}

/** What was deleted by a prune. */
export interface PruneResult {
  readonly removed: number;
  readonly bytes: number;
}

/** Keeps a file as a version; what the apply path is given. */
export interface VersionKeeper {
  /**
   * Keeps the file at `path` (relative to the folder) as a version and
   * returns the version's name. `"move"` (for a delete) moves it away;
   * `"link"` (for a replace) leaves it in place and gives the version a
   * hard link to it (a copy where links cannot be made), so the path is
   * never empty while the new file is renamed over it. The caller has
   * checked the file is what the index holds.
   */
  keep(path: string, how: KeepMode): Promise<string>;
  /** {@linkcode keep} with blocking calls, for the small-file batch. */
  keepSync(path: string, how: KeepMode): string;
  /**
   * Moves the file at OS path `from` (the old file of `path`, set aside by
   * the apply step) into the versions as a version of `path`.
   */
  keepAsideSync(from: string, path: string): string;
  /**
   * Takes back a version made with `"link"` when the replace it was made
   * for failed (the file is still in place).
   */
  discard(name: string): Promise<void>;
  /** {@linkcode discard} with blocking calls. */
  discardSync(name: string): void;
}

/** How {@linkcode VersionKeeper.keep} keeps a file. */
export type KeepMode = "move" | "link";

/** No more than this many versions of one path in one second. */
const MAX_SERIAL = 1000;

/** The versions of one folder. */
export class VersionStore implements VersionKeeper {
  /** Absolute path of the folder. */
  readonly folder: string;
  /** Absolute path of the versions directory. */
  readonly root: string;
  readonly #now: () => number;

  constructor(options: { folder: string; root: string; now?: () => number }) {
    this.folder = options.folder;
    this.root = options.root;
    this.#now = options.now ?? Date.now;
  }

  async keep(path: string, how: KeepMode): Promise<string> {
    const { name, target } = this.#freeName(path);
    const source = toOsPath(this.folder, path);
    if (how === "move") await moveFile(source, target);
    else await linkFile(source, target);
    return name;
  }

  keepSync(path: string, how: KeepMode): string {
    const { name, target } = this.#freeName(path);
    const source = toOsPath(this.folder, path);
    if (how === "move") moveFileSync(source, target);
    else linkFileSync(source, target);
    return name;
  }

  keepAsideSync(from: string, path: string): string {
    const { name, target } = this.#freeName(path);
    moveFileSync(from, target);
    return name;
  }

  /** The first free version name of `path` stamped now, and its OS path (parents made). */
  #freeName(path: string): { name: string; target: string } {
    const at = this.#now();
    for (let serial = 1; serial <= MAX_SERIAL; serial++) {
      const name = versionName(path, at, serial);
      const target = toOsPath(this.root, name);
      Deno.mkdirSync(dirname(target), { recursive: true });
      if (!existsSync(target)) return { name, target };
    }
    throw new Error(`Too many versions of "${path}" in one second`);
  }

  async discard(name: string): Promise<void> {
    await Deno.remove(toOsPath(this.root, name));
    await this.#removeEmptyParents(name);
  }

  discardSync(name: string): void {
    Deno.removeSync(toOsPath(this.root, name));
  }

  /** The versions of `path` (of every path without one), newest first. */
  async list(path?: string): Promise<KeptVersion[]> {
    const out: KeptVersion[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(toOsPath(this.root, rel)));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        throw error;
      }
      for (const entry of entries) {
        const name = rel === "" ? entry.name : joinRel(rel, entry.name);
        if (entry.isDirectory) {
          if (
            path === undefined || path === name ||
            path.startsWith(`${name}/`) || name.startsWith(`${path}/`)
          ) {
            await walk(name);
          }
          continue;
        }
        if (!entry.isFile) continue;
        const parsed = parseVersionName(name);
        if (parsed === undefined) continue;
        if (
          path !== undefined && parsed.path !== path &&
          !parsed.path.startsWith(`${path}/`)
        ) continue;
        let size = 0;
        try {
          size = (await Deno.lstat(toOsPath(this.root, name))).size;
        } catch {
          continue; // pruned meanwhile
        }
        out.push({ ...parsed, name, size });
      }
    };
    await walk("");
    return out.sort((a, b) =>
      b.at - a.at || b.serial - a.serial || (a.path < b.path ? -1 : 1)
    );
  }

  /** Deletes what `policy` does not keep at `now`. */
  async prune(
    policy: RetentionPolicy,
    now = this.#now(),
  ): Promise<PruneResult> {
    return await this.#remove(versionsToPrune(await this.list(), policy, now));
  }

  /** Deletes the oldest versions until `bytes` are freed (or none are left). */
  async free(bytes: number): Promise<PruneResult> {
    return await this.#remove(versionsToFree(await this.list(), bytes));
  }

  async #remove(versions: readonly KeptVersion[]): Promise<PruneResult> {
    let removed = 0;
    let bytes = 0;
    for (const v of versions) {
      try {
        await Deno.remove(toOsPath(this.root, v.name));
        removed++;
        bytes += v.size;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          log.warn("Cannot delete the old version {name}: {error}", {
            name: v.name,
            error: String(error),
          });
        }
        continue;
      }
      await this.#removeEmptyParents(v.name);
    }
    return { removed, bytes };
  }

  async #removeEmptyParents(name: string): Promise<void> {
    for (
      let cut = name.lastIndexOf("/");
      cut > 0;
      cut = name.lastIndexOf("/")
    ) {
      name = name.slice(0, cut);
      try {
        await Deno.remove(toOsPath(this.root, name));
      } catch {
        return; // not empty, or gone
      }
    }
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A rename that cannot cross file systems (`EXDEV`). */
function isCrossDevice(error: unknown): boolean {
  return (error as { code?: unknown }).code === "EXDEV" ||
    /cross-device|os error 18\b/i.test(String(error));
}

/**
 * Renames `from` to `to`; across file systems copies (with its mtime and
 * mode), flushes and removes the source instead.
 */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await Deno.rename(from, to);
    return;
  } catch (error) {
    if (!isCrossDevice(error)) throw error;
  }
  const info = await Deno.lstat(from);
  await Deno.copyFile(from, to);
  if (info.mtime !== null) await Deno.utime(to, new Date(), info.mtime);
  using file = await Deno.open(to, { read: true, write: true });
  await file.sync();
  await Deno.remove(from);
}

/** {@linkcode moveFile} with blocking calls. */
export function moveFileSync(from: string, to: string): void {
  try {
    Deno.renameSync(from, to);
    return;
  } catch (error) {
    if (!isCrossDevice(error)) throw error;
  }
  const info = Deno.lstatSync(from);
  Deno.copyFileSync(from, to);
  if (info.mtime !== null) Deno.utimeSync(to, new Date(), info.mtime);
  using file = Deno.openSync(to, { read: true, write: true });
  file.syncSync();
  Deno.removeSync(from);
}

/** A hard link `to` of `from`; a copy where links cannot be made. */
async function linkFile(from: string, to: string): Promise<void> {
  try {
    await Deno.link(from, to);
    return;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw error;
  }
  const info = await Deno.lstat(from);
  await Deno.copyFile(from, to);
  if (info.mtime !== null) await Deno.utime(to, new Date(), info.mtime);
}

function linkFileSync(from: string, to: string): void {
  try {
    Deno.linkSync(from, to);
    return;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw error;
  }
  const info = Deno.lstatSync(from);
  Deno.copyFileSync(from, to);
  if (info.mtime !== null) Deno.utimeSync(to, new Date(), info.mtime);
}
