/**
 * Small files put in place in groups (write every `.part`, fsync them
 * concurrently, rename them one by one, fsync each touched directory once),
 * with synchronous calls for everything except the fsyncs. Each
 * asynchronous file-system call is a round trip through the runtime's
 * blocking thread pool; a `PartFile` per file makes about a dozen, which
 * measured twice the CPU of this for 4 KiB files. Big files go through
 * `PartFile` one by one; there is no third way to apply a file.
 *
 * The rules are those of `atomic_writer.ts` and `safe_paths.ts`: each
 * chunk of the content is checked against its BLAKE3, and the chunk list
 * against the file hash, before anything is written; parents
 * are real directories (never symlinks), and a target that is not what the
 * index holds is left alone (`LocalChangeError`): each file goes in place
 * through `replaceExactly`, which never replaces a local write, however
 * late it lands. Data is flushed with `fdatasync` (the mtime is metadata a
 * crash may lose; the next scan then rehashes and finds the same content).
 * @module
 */

import { registerPart, releasePart } from "./part_registry.ts";
import {
  blake3,
  fileHashOfChunks,
  parentRel,
  sameBytes,
  type StoredStat,
  toHex,
  toOsPath,
} from "../../index/mod.ts";
import type { TargetChunk } from "./part_target.ts";
import { BlockingCalls } from "./blocking_calls.ts";
import { syncDir } from "./dir_sync.ts";
import { partName } from "./part_name.ts";
import { replaceExactly } from "./exact_replace.ts";
import { ContentMismatchError, UnsafePathError } from "./errors.ts";
import { checkRelPath, refuseParent } from "./safe_paths.ts";
import { execMode, lstatOrUndefined, mtimeValue } from "./file_mode.ts";

const IS_WINDOWS = Deno.build.os === "windows";
/**
 * Fsyncs in progress at once, process-wide: each takes a blocking thread.
 * Concurrent fsyncs share journal commits; 20,000 small files measured
 * 16.2 s with 8, 13.6 s with 32, 12.9 s with 64 and no better with 128
 * or 256 (with the watcher suspended while pulling; before that, hundreds
 * measured slower than a few dozen).
 */
const FSYNC_CONCURRENCY = 64;
const fsyncs = new BlockingCalls(FSYNC_CONCURRENCY);
/**
 * Creates in progress at once, process-wide. Creates in one directory
 * queue for its lock in the kernel, which spins: with 64 in flight the
 * receiver of 20,000 small files spent 27 s in the kernel against 19 s
 * creating on the main thread. `bench_sync --only small --tools dsync`,
 * I/O pressure 36-44%, interleaved: 4 in flight 26.2 / 24.5 s (kernel
 * 17.8 / 17.0 s), creates on the main thread 28.3 / 31.3 s (16.7 / 18.2).
 */
const creates = new BlockingCalls(4);

/** A small file to put in place. */
export interface SmallFile {
  /** Canonical relative path of the target. */
  readonly path: string;
  /** The whole content. */
  readonly data: Uint8Array;
  /** Its file hash: `fileHashOf` the chunks' hashes. */
  readonly hash: Uint8Array;
  /** Its chunks in order (lengths summing to the content's). */
  readonly chunks: readonly TargetChunk[];
  /**
   * True when each chunk of `data` was checked against its hash already
   * (the chunk fetcher's `assemble` takes only verified chunks): not hashed
   * again here, which was a second BLAKE3 pass over every small file
   * pulled (1.7 s of a receiver's main thread for 100,000 of 1 KiB). Their
   * lengths and the file hash are still checked.
   */
  readonly chunksVerified?: boolean;
  readonly mtimeNs: bigint;
  readonly exec: boolean;
  /**
   * What the index holds at the target (`IndexStore.getStat`); with a
   * `check`, what that returns instead.
   */
  readonly expected?: StoredStat | undefined;
  /**
   * Called while the caller holds its gate, right before the file is
   * placed; throws (a `LocalChangeError`) when the decision to write it is
   * no longer current (the file is then left out with that error), else
   * returns what the index holds at the target now.
   */
  readonly check?: () => StoredStat | undefined;
  /** This replica's tag for a conflict name (see `replaceExactly`). */
  readonly conflictTag?: string;
  /**
   * Takes the old file, moved aside (OS path) once it is known to be what
   * the index held, to keep it as a version; without it, it is removed.
   */
  readonly keepOld?: (asideOsPath: string) => void;
}

/** Outcome of one file. */
export type SmallFileOutcome =
  | { readonly ok: true; readonly path: string; readonly info: Deno.FileInfo }
  | { readonly ok: false; readonly path: string; readonly error: Error };

interface Staged {
  readonly file: SmallFile;
  readonly partPath: string;
  readonly targetPath: string;
  /**
   * The part's stat once complete: the inode, size and mtime the target has
   * once the part is linked or renamed there (saves a stat per file).
   */
  readonly info: Deno.FileInfo;
}

/**
 * Creates the missing parents of `path` (refusing links and files in the
 * chain); false when one is missing and `create` is off. `verified` holds
 * directories already checked in this synchronous stretch (nothing of ours
 * runs in between, so they still hold).
 */
function ensureParents(
  folder: string,
  path: string,
  create: boolean,
  verified: Set<string>,
): boolean {
  checkRelPath(path);
  const parent = parentRel(path);
  if (parent === "" || verified.has(parent)) return true;
  const parts = path.split("/");
  let rel = "";
  for (let i = 0; i < parts.length - 1; i++) {
    rel = rel === "" ? parts[i]! : `${rel}/${parts[i]}`;
    if (verified.has(rel)) continue;
    const os = toOsPath(folder, rel);
    let info = lstatOrUndefined(os);
    if (info === undefined) {
      if (!create) return false;
      try {
        Deno.mkdirSync(os);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
      info = Deno.lstatSync(os);
    }
    refuseParent(path, rel, info);
    verified.add(rel);
  }
  return true;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function removeQuietly(os: string): void {
  releasePart(os);
  try {
    Deno.removeSync(os);
  } catch {
    // Already gone; a leftover is removed at the next start anyway.
  }
}

/** Throws {@linkcode ContentMismatchError} unless `file.data` is its chunks and hash. */
function checkContent(file: SmallFile): void {
  const mismatch = (what: string) =>
    new ContentMismatchError(
      file.path,
      `Assembled "${file.path}" does not match its record: ${what}`,
    );
  const hashed = file.chunksVerified !== true;
  let offset = 0;
  for (const chunk of file.chunks) {
    const bytes = file.data.subarray(offset, offset + chunk.length);
    if (
      bytes.length !== chunk.length ||
      (hashed && !sameBytes(blake3(bytes), chunk.hash))
    ) {
      throw mismatch(`other bytes at ${offset}`);
    }
    offset += chunk.length;
  }
  if (offset !== file.data.length) {
    throw mismatch(`${file.data.length} bytes, chunks cover ${offset}`);
  }
  if (!sameBytes(fileHashOfChunks(file.chunks), file.hash)) {
    throw mismatch(`chunks do not make hash ${toHex(file.hash)}`);
  }
}

/**
 * Checks `file` and its parents, then creates its `.part` beside the target
 * off the main thread: a create waits for the file system's journal, which
 * is busy with the fsyncs in flight, and a synchronous one stalled the
 * whole process (up to 10 s of 20,000 small files under I/O pressure).
 */
async function createPart(
  folder: string,
  file: SmallFile,
  verified: Set<string>,
): Promise<{ partPath: string; handle: Deno.FsFile }> {
  checkContent(file);
  ensureParents(folder, file.path, true, verified);
  const dir = parentRel(file.path);
  const name = file.path.slice(file.path.lastIndexOf("/") + 1);
  const partPath = toOsPath(
    folder,
    (dir === "" ? "" : `${dir}/`) + partName(name),
  );
  const handle = await creates.run(() =>
    Deno.open(partPath, { write: true, createNew: true })
  );
  registerPart(partPath);
  return { partPath, handle };
}

/** Fills a created `.part` with mode and mtime; returns it open. */
function writePart(
  folder: string,
  file: SmallFile,
  partPath: string,
  handle: Deno.FsFile,
): { staged: Staged; handle: Deno.FsFile } {
  let info: Deno.FileInfo;
  try {
    for (let done = 0; done < file.data.length;) {
      done += handle.writeSync(file.data.subarray(done));
    }
    handle.utimeSync(new Date(), mtimeValue(file.mtimeNs));
    info = handle.statSync();
    if (!IS_WINDOWS && info.mode !== null) {
      const perms = info.mode & 0o7777;
      const wanted = execMode(perms, file.exec);
      if (wanted !== perms) {
        Deno.chmodSync(partPath, wanted);
        info = { ...info, mode: (info.mode & ~0o7777) | wanted };
      }
    }
  } catch (err) {
    handle.close();
    removeQuietly(partPath);
    throw err;
  }
  return {
    staged: { file, partPath, targetPath: toOsPath(folder, file.path), info },
    handle,
  };
}

/**
 * Puts `files` in place: verify and write every `.part`, flush them
 * concurrently, then (inside `place`, which the caller may run under a
 * lock together with storing the records) rename each over its target if
 * the target is still what the index holds, and finally flush the touched
 * directories. Returns one outcome per file, in order; a failed file leaves
 * its target untouched and no `.part` behind.
 */
export async function writeSmallFiles(
  folder: string,
  files: readonly SmallFile[],
  place: (rename: () => SmallFileOutcome[]) => Promise<void> = (r) => {
    r();
    return Promise.resolve();
  },
): Promise<SmallFileOutcome[]> {
  const outcomes = new Map<SmallFile, SmallFileOutcome>();
  const written: { staged: Staged; handle: Deno.FsFile }[] = [];
  const verified = new Set<string>();
  const created = await Promise.allSettled(
    files.map((file) => createPart(folder, file, verified)),
  );
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const part = created[i]!;
    try {
      if (part.status === "rejected") throw part.reason;
      written.push(
        writePart(folder, file, part.value.partPath, part.value.handle),
      );
    } catch (err) {
      outcomes.set(file, { ok: false, path: file.path, error: asError(err) });
    }
  }
  const flushed: Staged[] = [];
  let next = 0;
  const flushOne = async () => {
    while (next < written.length) {
      const { staged, handle } = written[next++]!;
      try {
        await fsyncs.run(() => handle.syncData());
        flushed.push(staged);
      } catch (err) {
        removeQuietly(staged.partPath);
        outcomes.set(staged.file, {
          ok: false,
          path: staged.file.path,
          error: asError(err),
        });
      } finally {
        handle.close();
      }
    }
  };
  await Promise.all(
    Array.from(
      { length: Math.min(FSYNC_CONCURRENCY, written.length) },
      flushOne,
    ),
  );
  const dirs = new Set<string>();
  let renamed = false;
  try {
    await place(() => {
      renamed = true;
      const placed: SmallFileOutcome[] = [];
      const checked = new Set<string>();
      for (const staged of flushed) {
        const outcome = renameInPlace(folder, staged, checked);
        if (outcome.ok) dirs.add(toOsPath(folder, parentRel(outcome.path)));
        else removeQuietly(staged.partPath);
        outcomes.set(staged.file, outcome);
        placed.push(outcome);
      }
      return placed;
    });
  } finally {
    if (!renamed) {
      for (const staged of flushed) removeQuietly(staged.partPath);
    }
  }
  await Promise.all([...dirs].map(async (dir) => {
    try {
      await syncDir(dir);
    } catch {
      // The renames happened; a failed directory fsync only weakens durability.
    }
  }));
  return files.map((file) =>
    outcomes.get(file) ??
      { ok: false, path: file.path, error: new Error("Not written") }
  );
}

function renameInPlace(
  folder: string,
  staged: Staged,
  verified: Set<string>,
): SmallFileOutcome {
  const { file } = staged;
  try {
    const expected = file.check === undefined ? file.expected : file.check();
    if (!ensureParents(folder, file.path, false, verified)) {
      throw new UnsafePathError(
        file.path,
        `Parent of "${file.path}" disappeared`,
      );
    }
    replaceExactly({
      relPath: file.path,
      osPath: staged.targetPath,
      // Named only when needed: a random name per new file cost 2% of
      // placing 100,000 of them.
      get asideOsPath() {
        return asidePath(folder, file.path);
      },
      expected,
      ...(file.conflictTag === undefined
        ? {}
        : { conflictTag: file.conflictTag }),
      ...(file.keepOld === undefined ? {} : { takeOld: file.keepOld }),
    }, staged.partPath);
    releasePart(staged.partPath);
    return { ok: true, path: file.path, info: staged.info };
  } catch (err) {
    return { ok: false, path: file.path, error: asError(err) };
  }
}

/** A free `.part` name beside `relPath` to move the old file to. */
function asidePath(folder: string, relPath: string): string {
  const dir = parentRel(relPath);
  const name = relPath.slice(relPath.lastIndexOf("/") + 1);
  return toOsPath(folder, (dir === "" ? "" : `${dir}/`) + partName(name));
}
