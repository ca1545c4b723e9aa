/**
 * Applying a file without ever exposing a partial one: content goes to a
 * temporary `.part` file beside the target, which is verified (size, and
 * every chunk's BLAKE3), given its mtime and exec bit, fsynced, and only
 * then renamed over the target; the directory is fsynced after the rename.
 *
 * ```ts
 * await using part = await PartFile.create({ folder, path, size, hash, chunks, mtimeNs, exec, expected });
 * await part.write(0, chunk0);          // verified chunks, any order
 * await part.write(chunk0.length, chunk1);
 * const { info } = await part.commit();
 * ```
 *
 * `.part` files are named `.<name>.dsync-<16 hex>.part` (see
 * {@linkcode partName}); the index ignores `*.part`. A part left by a kill or
 * an abandoned pull can be reopened ({@linkcode PartFile.resume}): its bytes
 * are read back ({@linkcode PartFile.readBack}), checked chunk by chunk by
 * the caller and taken as they are ({@linkcode PartFile.keep}).
 * `pull/part_cleanup.ts` finds leftovers at start.
 *
 * Verification: the file hash is `fileHashOf` the chunk hashes, so a file
 * is what the record says when each chunk is. The caller verifies each
 * chunk before writing it (it must, to know whether to ask elsewhere);
 * writes that cover the file in order, chunk after chunk, are then the
 * whole file verified, at no second hashing pass, in any order
 * (`written_ranges.ts`). Writes over each other make the commit read the
 * part back and hash every chunk.
 *
 * Before the rename the target is checked against `expected` (what the index
 * holds): an entry that differs is a local edit the index has not seen, and
 * the commit fails with {@linkcode LocalChangeError} instead of destroying
 * it. The caller rescans the path and plans again. The check and the rename
 * are two system calls; an edit landing between them (microseconds) is not
 * detected: POSIX has no portable compare-and-rename.
 *
 * Any failure of `commit` (and `abort`, and disposing of an uncommitted part)
 * removes the `.part` file; the target keeps its old content.
 *
 * Durability: a large `.part` is flushed in the background while it is
 * written (`early_writeback.ts`), the `.part` is fsynced before the rename
 * and the directory after it, so after a crash the target holds either the
 * old or the new content, never a mix. On Windows directories cannot be opened for fsync
 * through Deno; there the directory sync is skipped (NTFS journals the
 * rename's metadata) and exec bits are not set.
 * @module
 */

import { registerPart, releasePart } from "./part_registry.ts";
import { getLogger } from "@logtape/logtape";
import { baseName, parentRel, toOsPath } from "../../index/mod.ts";
import { parentOsPath, syncDirLogged } from "./dir_sync.ts";
import { partName, partTargetName } from "./part_name.ts";
import {
  checkTarget,
  type PartTarget,
  type TargetChunk,
  verifyPartChunks,
} from "./part_target.ts";
import { chunksInPlace, COPY_MIN_SHARE, copyUnchanged } from "./part_copy.ts";
import { EarlyWriteback } from "./early_writeback.ts";
import { WrittenRanges } from "./written_ranges.ts";
import { ContentMismatchError, UnsafePathError } from "./errors.ts";
import { replaceExactly } from "./exact_replace.ts";
import { execMode, mtimeValue } from "./file_mode.ts";
import { checkParentDirs, ensureParentDirs } from "./safe_paths.ts";

const log = getLogger(["dsync", "sync", "atomic_writer"]);

const IS_WINDOWS = Deno.build.os === "windows";
/** A committed file: its relative path and its `lstat` after the rename. */
export interface Committed {
  readonly path: string;
  /** Store this stat's inode and mtime as the record's local fields; remember it in the echo filter. */
  readonly info: Deno.FileInfo;
}

type State = "open" | "prepared" | "done";

/**
 * A `.part` file being assembled for one target from verified chunks.
 * Writes may come in any order; unless they covered the file once, the
 * part is read back and every chunk hashed at commit. Not safe to commit
 * concurrently with writes.
 */
export class PartFile implements AsyncDisposable {
  readonly target: PartTarget;
  /** OS path of the `.part` file. */
  readonly partPath: string;
  /** OS path of the target. */
  readonly targetPath: string;
  /**
   * Leading bytes of a resumed `.part` that may hold chunks of the target
   * (0 for a new one). Untrusted: read them with {@linkcode readBack},
   * verify, then {@linkcode keep} them.
   */
  readonly resumable: number;
  #copied = 0;
  /** Chunks already in place in a part copied from the old version (offset → length). */
  #inPlace: ReadonlyMap<number, number> | undefined;
  #file: Deno.FsFile | undefined;
  readonly #writeback: EarlyWriteback;
  #state: State = "open";
  #queue: Promise<unknown> = Promise.resolve();
  /** What was written or kept, in any order. */
  readonly #written: WrittenRanges;
  /**
   * The handle's file position when known: a write that continues the
   * last one needs no seek (an asynchronous call per chunk otherwise).
   */
  #position: number | undefined = 0;

  private constructor(
    target: PartTarget,
    partPath: string,
    targetPath: string,
    file: Deno.FsFile,
    resumable: number,
  ) {
    this.target = target;
    this.partPath = partPath;
    this.targetPath = targetPath;
    this.#file = file;
    registerPart(partPath);
    this.#writeback = new EarlyWriteback(file);
    this.#written = new WrittenRanges(target.chunks);
    this.resumable = resumable;
  }

  /**
   * Creates the parents of the target (refusing symlinks in the chain:
   * {@linkcode UnsafePathError}) and a new, empty `.part` beside it.
   */
  static async create(target: PartTarget): Promise<PartFile> {
    checkTarget(target);
    const targetPath = await ensureParentDirs(target.folder, target.path);
    const partPath = newPartPath(target);
    const file = await Deno.open(partPath, {
      read: true,
      write: true,
      createNew: true,
    });
    return new PartFile(target, partPath, targetPath, file, 0);
  }

  /**
   * A `.part` that starts as a kernel copy of the target's current file
   * (see `part_copy.ts`), when at least half of the new content sits
   * there in place (same offset, length and hash in `previous`, the
   * chunks of the record the index holds) and the file still shows what
   * the index holds; else undefined (use {@linkcode create}). Chunks in
   * place are then taken with {@linkcode keep} instead of written.
   */
  static async fromCopy(
    target: PartTarget,
    previous: readonly TargetChunk[],
  ): Promise<PartFile | undefined> {
    checkTarget(target);
    const expected = target.expected;
    if (
      expected === undefined || expected.deleted || expected.kind !== "file"
    ) {
      return undefined;
    }
    const inPlace = chunksInPlace(target.chunks, previous);
    if (inPlace.bytes === 0 || inPlace.bytes < target.size * COPY_MIN_SHARE) {
      return undefined;
    }
    const targetPath = await ensureParentDirs(target.folder, target.path);
    const partPath = newPartPath(target);
    if (!await copyUnchanged(targetPath, partPath, expected)) return undefined;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(partPath, { read: true, write: true });
      if (expected.size > target.size) await file.truncate(target.size);
    } catch (err) {
      await Deno.remove(partPath).catch(() => {});
      throw err;
    }
    const part = new PartFile(target, partPath, targetPath, file, 0);
    part.#inPlace = inPlace.chunks;
    part.#copied = Math.min(expected.size, target.size);
    part.#position = undefined;
    // Flushed while the changed chunks are fetched (see `part_copy.ts`).
    part.#writeback.wrote(part.#copied);
    return part;
  }

  /** Leading bytes copied from the old version (see {@linkcode fromCopy}). */
  get copiedBytes(): number {
    return this.#copied;
  }

  /** True when the part holds the target's chunk at `offset` of `length` bytes already (see {@linkcode fromCopy}). */
  inPlace(offset: number, length: number): boolean {
    return this.#inPlace?.get(offset) === length;
  }

  /**
   * Reopens `partOs`, a `.part` left by an earlier pull of the same target
   * (see `LeftoverParts`), cut to the target's size. Undefined when it is
   * not a regular file beside the target (the caller starts a new part and
   * removes it). Throws {@linkcode UnsafePathError} like `create`.
   */
  static async resume(
    target: PartTarget,
    partOs: string,
  ): Promise<PartFile | undefined> {
    checkTarget(target);
    const targetPath = await ensureParentDirs(target.folder, target.path);
    const dirOs = parentOsPath(target.folder, target.path);
    const cut = Math.max(partOs.lastIndexOf("/"), partOs.lastIndexOf("\\"));
    const name = partTargetName(partOs.slice(cut + 1));
    if (
      partOs.slice(0, Math.max(cut, 0)) !== dirOs.replace(/[\\/]+$/, "") ||
      name?.normalize("NFC") !== baseName(target.path)
    ) {
      return undefined;
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(partOs);
    } catch {
      return undefined;
    }
    if (!info.isFile) return undefined;
    const file = await Deno.open(partOs, { read: true, write: true });
    try {
      const opened = await file.stat();
      if (!opened.isFile || (info.ino !== null && opened.ino !== info.ino)) {
        file.close();
        return undefined;
      }
      if (opened.size > target.size) await file.truncate(target.size);
      return new PartFile(
        target,
        partOs,
        targetPath,
        file,
        Math.min(opened.size, target.size),
      );
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /**
   * Reads `length` bytes at `offset` of the part as it is (for resuming);
   * undefined when it holds fewer.
   */
  readBack(offset: number, length: number): Promise<Uint8Array | undefined> {
    if (this.#state !== "open") {
      return Promise.reject(
        new TypeError(`Cannot read ${this.partPath}: already ${this.#state}`),
      );
    }
    let out: Uint8Array | undefined;
    return this.#serial(async () => {
      const file = this.#file!;
      this.#position = undefined;
      await file.seek(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(length);
      for (let got = 0; got < length;) {
        const n = await file.read(buf.subarray(got));
        if (n === null) return;
        got += n;
      }
      out = buf;
    }).then(() => out);
  }

  /**
   * Takes the `length` bytes at `offset` as they are, where the part holds
   * exactly the target's bytes already (verified chunks of a resumed part,
   * or chunks {@linkcode inPlace}): not written again.
   */
  keep(offset: number, length: number): Promise<void> {
    if (
      this.#state !== "open" || offset < 0 ||
      (offset + length > this.resumable && !this.inPlace(offset, length))
    ) {
      return Promise.reject(
        new RangeError(
          `Cannot keep ${length} bytes at ${offset} of ${this.partPath}`,
        ),
      );
    }
    return this.#serial(() => {
      this.#track(offset, length);
      return Promise.resolve();
    });
  }

  /**
   * Closes the part and leaves it on disk (to resume later); returns its
   * size. Afterwards the part is done, as after a commit.
   */
  async detach(): Promise<number> {
    await this.#queue.catch(() => {});
    await this.#writeback.drain();
    let size = 0;
    try {
      if (this.#file !== undefined) size = (await this.#file.stat()).size;
    } catch {
      // Counted as empty.
    }
    this.#closeFile();
    this.#state = "done";
    releasePart(this.partPath);
    return size;
  }

  /**
   * Writes `data`, one or more whole chunks of the target that the caller
   * verified, at `offset`; throws `RangeError` beyond the target's size.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(
        new TypeError(
          `Cannot write to ${this.partPath}: already ${this.#state}`,
        ),
      );
    }
    if (
      !Number.isSafeInteger(offset) || offset < 0 ||
      offset + data.length > this.target.size
    ) {
      return Promise.reject(
        new RangeError(
          `Cannot write ${data.length} bytes at ${offset} to "${this.target.path}" of ${this.target.size} bytes`,
        ),
      );
    }
    return this.#serial(async () => {
      const file = this.#file!;
      if (this.#position !== offset) {
        await file.seek(offset, Deno.SeekMode.Start);
      }
      this.#position = undefined; // known again once the write completes
      for (let done = 0; done < data.length;) {
        done += await file.write(data.subarray(done));
      }
      this.#position = offset + data.length;
      this.#track(offset, data.length);
      this.#writeback.wrote(data.length);
    });
  }

  /**
   * Verifies, fsyncs and renames the `.part` over the target; returns the
   * target's stat. Throws {@linkcode ContentMismatchError},
   * {@linkcode LocalChangeError} or {@linkcode UnsafePathError}; on any
   * failure the `.part` is removed and the target is untouched.
   */
  async commit(): Promise<Committed> {
    try {
      await this.prepare();
      const info = await this.rename();
      await syncDirLogged(parentOsPath(this.target.folder, this.target.path));
      return { path: this.target.path, info };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Removes the `.part` (if still there); the target is untouched. Idempotent. */
  async abort(): Promise<void> {
    await this.#queue.catch(() => {});
    await this.#writeback.drain();
    this.#closeFile();
    if (this.#state === "done") return;
    this.#state = "done";
    releasePart(this.partPath);
    try {
      await Deno.remove(this.partPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        log.warn("Cannot remove {part}: {error}", {
          part: this.partPath,
          error: String(err),
        });
      }
    }
  }

  /** Aborts unless committed. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort();
  }

  /**
   * Step 1 of a commit: checks size and chunks, sets exec bit and mtime,
   * fsyncs and closes the `.part`. Throws {@linkcode ContentMismatchError}.
   * The puller prepares outside the `ApplyGate` and renames
   * under it; otherwise prefer {@linkcode commit}.
   */
  async prepare(): Promise<void> {
    if (this.#state !== "open") {
      throw new TypeError(
        `Cannot commit ${this.partPath}: already ${this.#state}`,
      );
    }
    await this.#queue;
    const file = this.#file!;
    const { path, size } = this.target;
    const stat = await file.stat();
    if (stat.size !== size) {
      throw new ContentMismatchError(
        path,
        `Assembled "${path}" has ${stat.size} bytes, expected ${size}`,
      );
    }
    if (!this.#written.coverOnce(size)) {
      this.#position = undefined;
      await verifyPartChunks(file, this.target);
    }
    if (!IS_WINDOWS) {
      const mode = (stat.mode ?? 0o644) & 0o7777;
      const wanted = execMode(mode, this.target.exec);
      if (wanted !== mode) await Deno.chmod(this.partPath, wanted);
    }
    await file.utime(new Date(), mtimeValue(this.target.mtimeNs));
    await this.#writeback.settle();
    await file.sync();
    this.#closeFile();
    this.#state = "prepared";
  }

  /**
   * Step 2 of a commit: rechecks the parents and the target, renames the
   * prepared `.part` over the target and returns the target's stat. Does
   * not fsync the directory.
   */
  async rename(): Promise<Deno.FileInfo> {
    if (this.#state !== "prepared") {
      throw new TypeError(
        `Cannot rename ${this.partPath}: it is ${this.#state}`,
      );
    }
    const { folder, path, expected } = this.target;
    const os = await checkParentDirs(folder, path);
    if (os === undefined) {
      throw new UnsafePathError(path, `Parent of "${path}" disappeared`);
    }
    const dirRel = parentRel(path);
    replaceExactly({
      relPath: path,
      osPath: this.targetPath,
      asideOsPath: toOsPath(
        folder,
        (dirRel === "" ? "" : `${dirRel}/`) + partName(baseName(path)),
      ),
      expected,
      ...(this.target.conflictTag === undefined
        ? {}
        : { conflictTag: this.target.conflictTag }),
    }, this.partPath);
    this.#state = "done";
    releasePart(this.partPath);
    return await Deno.lstat(this.targetPath);
  }

  #track(offset: number, length: number): void {
    this.#written.add(offset, length);
  }

  #closeFile(): void {
    try {
      this.#file?.close();
    } catch {
      // Already closed.
    }
    this.#file = undefined;
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** OS path of a new `.part` beside `target`. */
function newPartPath(target: PartTarget): string {
  const dirRel = parentRel(target.path);
  const partRel = (dirRel === "" ? "" : `${dirRel}/`) +
    partName(baseName(target.path));
  return toOsPath(target.folder, partRel);
}
