/**
 * `.part` files a previous run left behind (crash, kill, power loss), and
 * those of downloads this run had to abandon. Only names dsync itself
 * creates are touched (`.<name>.dsync-<16 hex>.part`,
 * {@linkcode PART_FILE_PATTERN}); a user's own `*.part` files stay.
 *
 * A leftover is kept for resuming ({@linkcode LeftoverParts}): the next pull
 * of its target reads it back chunk by chunk, at the offsets the new record
 * puts each chunk, and uses a chunk only when its BLAKE3 is the one wanted
 * (a `.part` is untrusted: it may be torn, stale or edited), so only what is
 * missing goes over the network. Leftovers nobody resumes are removed after
 * a while. Gather them before the puller starts (no part is in flight then).
 * Symlinks are never followed; `.dsync/` is skipped.
 * @module
 */

import {
  isActivePart,
  PART_FILE_PATTERN,
  partTargetName,
} from "../apply/mod.ts";
import { getLogger } from "@logtape/logtape";
import { joinRel, STATE_DIR, toOsPath } from "../../index/mod.ts";

const log = getLogger(["dsync", "sync", "part_cleanup"]);

/** Options of {@linkcode removeLeftoverParts} and {@linkcode LeftoverParts.gather}. */
export interface PartCleanupOptions {
  /**
   * Directories (canonical relative path) not to descend into, e.g. ignored
   * ones, where dsync never writes. `.dsync/` is always skipped.
   */
  readonly skipDir?: (relPath: string) => boolean;
}

/** A dsync `.part` found on disk. */
interface FoundPart {
  /** Canonical relative path of the `.part` itself. */
  readonly rel: string;
  /** OS path of the `.part`. */
  readonly os: string;
  /** Canonical relative path of its target, when the name tells it. */
  readonly target: string | undefined;
  readonly isFile: boolean;
}

async function findParts(
  folder: string,
  options: PartCleanupOptions,
): Promise<FoundPart[]> {
  const found: FoundPart[] = [];
  // OS paths are kept apart from canonical ones: names on disk need not be NFC.
  const pending: { dir: string; os: string }[] = [{ dir: "", os: folder }];
  while (pending.length > 0) {
    const { dir, os } = pending.pop()!;
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const entry of Deno.readDir(os)) entries.push(entry);
    } catch (err) {
      log.warn("Cannot read {dir} while looking for .part files: {error}", {
        dir: dir === "" ? "." : dir,
        error: String(err),
      });
      continue;
    }
    for (const entry of entries) {
      const rel = joinRel(dir, entry.name);
      if (entry.isDirectory) {
        if (rel === STATE_DIR || options.skipDir?.(rel)) continue;
        pending.push({ dir: rel, os: toOsPath(os, entry.name) });
      } else if (
        (entry.isFile || entry.isSymlink) && PART_FILE_PATTERN.test(entry.name)
      ) {
        const name = partTargetName(entry.name);
        found.push({
          rel,
          os: toOsPath(os, entry.name),
          target: name === undefined ? undefined : joinRel(dir, name),
          isFile: entry.isFile,
        });
      }
    }
  }
  return found;
}

/** Removes `os`; false (logged) when it cannot. */
async function removePart(os: string, rel: string): Promise<boolean> {
  try {
    await Deno.remove(os);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    log.warn("Cannot remove leftover {path}: {error}", {
      path: rel,
      error: String(err),
    });
    return false;
  }
}

/**
 * Removes dsync's leftover `.part` files (regular files or symlinks) anywhere
 * under `folder`; returns their relative paths. Unreadable directories and
 * files that cannot be removed are logged and skipped.
 */
export async function removeLeftoverParts(
  folder: string,
  options: PartCleanupOptions = {},
): Promise<string[]> {
  const removed: string[] = [];
  for (const part of await findParts(folder, options)) {
    if (await removePart(part.os, part.rel)) removed.push(part.rel);
  }
  if (removed.length > 0) {
    log.info("Removed {count} leftover .part files", { count: removed.length });
  }
  return removed;
}

/** A `.part` kept for resuming the pull of its target. */
export interface LeftoverPart {
  /** OS path of the `.part`. */
  readonly os: string;
  /** Bytes in it when found (an upper bound of what can be reused). */
  readonly size: number;
}

interface Entry extends LeftoverPart {
  /** Epoch ms when kept. */
  readonly since: number;
}

/** Options of {@linkcode LeftoverParts}. */
export interface LeftoverPartsOptions {
  /** Leftovers not resumed for this long are removed by `expire` (default 10 min). */
  readonly maxAgeMs?: number;
  /** Most leftovers kept; the oldest go first (default 64). */
  readonly maxParts?: number;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

/**
 * The `.part` files kept for resuming, by target path: at most one per
 * target (the biggest found at start, or the last one parked).
 */
export class LeftoverParts {
  readonly #byPath = new Map<string, Entry>();
  readonly #maxAgeMs: number;
  readonly #maxParts: number;
  readonly #now: () => number;

  constructor(options: LeftoverPartsOptions = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#maxParts = Math.max(1, options.maxParts ?? 64);
    this.#now = options.now ?? Date.now;
  }

  /** Whether the `.part` at `os` is kept here for resuming. */
  holds(os: string): boolean {
    for (const entry of this.#byPath.values()) if (entry.os === os) return true;
    return false;
  }

  /**
   * Finds the `.part` files under `folder`: keeps the biggest non-empty
   * regular file of each target whose name it tells, removes the rest.
   */
  static async gather(
    folder: string,
    options: PartCleanupOptions & LeftoverPartsOptions = {},
  ): Promise<LeftoverParts> {
    const parts = new LeftoverParts(options);
    const best = new Map<string, { part: FoundPart; size: number }>();
    let removed = 0;
    for (const part of await findParts(folder, options)) {
      let size = 0;
      if (part.isFile && part.target !== undefined) {
        try {
          const info = await Deno.lstat(part.os);
          if (info.isFile) size = info.size;
        } catch {
          continue;
        }
      }
      const prior = part.target === undefined
        ? undefined
        : best.get(part.target);
      if (size > 0 && (prior === undefined || prior.size < size)) {
        best.set(part.target!, { part, size });
        if (prior === undefined) continue;
        if (await removePart(prior.part.os, prior.part.rel)) removed++;
      } else if (await removePart(part.os, part.rel)) removed++;
    }
    const by = [...best.entries()].sort((a, b) => b[1].size - a[1].size);
    for (const [target, { part, size }] of by) {
      if (parts.#byPath.size >= parts.#maxParts) {
        if (await removePart(part.os, part.rel)) removed++;
        continue;
      }
      parts.#byPath.set(target, { os: part.os, size, since: parts.#now() });
    }
    if (removed > 0 || by.length > 0) {
      log.info(
        "Found {kept} leftover .part files to resume, removed {removed}",
        { kept: parts.#byPath.size, removed },
      );
    }
    return parts;
  }

  /** Leftovers held. */
  get size(): number {
    return this.#byPath.size;
  }

  /** Takes the leftover of `path` (the caller resumes or removes it). */
  take(path: string): LeftoverPart | undefined {
    const entry = this.#byPath.get(path);
    if (entry === undefined) return undefined;
    this.#byPath.delete(path);
    return { os: entry.os, size: entry.size };
  }

  /** Keeps the `.part` at `os` (`size` bytes) for the next pull of `path`. */
  async park(path: string, os: string, size: number): Promise<void> {
    const prior = this.#byPath.get(path);
    this.#byPath.delete(path);
    if (prior !== undefined && prior.os !== os) {
      await removePart(prior.os, path);
    }
    while (this.#byPath.size >= this.#maxParts) {
      const [oldest, entry] = this.#byPath.entries().next().value!;
      this.#byPath.delete(oldest);
      await removePart(entry.os, oldest);
    }
    this.#byPath.set(path, { os, size, since: this.#now() });
  }

  /** Removes the leftover of `path`, if any. */
  async discard(path: string): Promise<void> {
    const entry = this.take(path);
    if (entry !== undefined) await removePart(entry.os, path);
  }

  /**
   * Removes every leftover: called once the folder is in sync with every
   * connected peer, when no pull is left to resume one (a `.part` a kill
   * left beside a file that is here whole would otherwise stay until the
   * maximum age). Returns how many were removed.
   */
  async discardAll(): Promise<number> {
    let removed = 0;
    for (const [path, entry] of [...this.#byPath]) {
      this.#byPath.delete(path);
      if (await removePart(entry.os, path)) removed++;
    }
    if (removed > 0) {
      log.debug(
        "Removed {count} leftover .part files: in sync, none to resume",
        {
          count: removed,
        },
      );
    }
    return removed;
  }

  /** Removes the leftovers kept longer than the maximum age. */
  async expire(): Promise<void> {
    const cut = this.#now() - this.#maxAgeMs;
    for (const [path, entry] of [...this.#byPath]) {
      if (entry.since > cut) continue;
      this.#byPath.delete(path);
      if (await removePart(entry.os, path)) {
        log.debug("Removed {path}'s leftover .part: not resumed in time", {
          path,
        });
      }
    }
  }
}

/** How long a stray `.part` is left alone before it is removed. */
const STRAY_GRACE_MS = 5_000;
/** Stray `.part` files waiting for their grace time (bounded). */
const strays = new Set<string>();

/**
 * A scan listed the dsync `.part` at `os`: unless a pull is writing it or
 * `leftovers` keeps it for resuming, it is removed after a few seconds (a
 * `.part` that moved with a folder the user renamed while a pull wrote
 * into it would otherwise stay for good). Checked again when the time
 * comes, so one that a pull just created is never taken.
 */
export function removeStrayPart(os: string, leftovers?: LeftoverParts): void {
  if (isActivePart(os) || leftovers?.holds(os) === true) return;
  if (strays.has(os) || strays.size >= 1000) return;
  strays.add(os);
  const timer = setTimeout(async () => {
    strays.delete(os);
    if (isActivePart(os) || leftovers?.holds(os) === true) return;
    try {
      await Deno.remove(os);
      log.info("Removed {part}: no pull is writing it any more", {
        part: os,
      });
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }, STRAY_GRACE_MS);
  Deno.unrefTimer(timer);
}
