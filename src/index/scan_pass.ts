/**
 * One pass of the scanner: walks part of the folder, compares what it finds
 * with the index, hashes what changed (several files in flight) and writes
 * the changes in batched transactions. Internal to `scanner.ts`.
 */

import { getLogger } from "@logtape/logtape";
import type { FileDigest } from "./file_digest.ts";
import { type FileKind, type FileRecord, sameContent } from "./file_record.ts";
import { blake3 } from "./hash.ts";
import type { IgnoreRules } from "./ignore_rules.ts";
import { isWithin, joinRel, OS_SEP, parentRel } from "./rel_path.ts";
import {
  type SeenStat,
  seenStatOf,
  type SmallFileOutcome,
} from "./small_file_batch.ts";
import { decideStatChange, type ObservedStat } from "./stat_change.ts";
import type { IndexStore, LocalStatUpdate, StoredStat } from "./store.ts";
import { bump, EMPTY_VERSION, type VersionVector } from "./version_vector.ts";

const log = getLogger(["dsync", "index", "scanner"]);

/** Hashes file content; the scanner's only dependency on the hashing side. */
export interface FileHasher {
  hashFile(absPath: string): Promise<FileDigest>;
  /**
   * Files found smaller than this go to {@linkcode hashSmallFiles} in
   * batches, when the hasher has it (both or neither).
   */
  readonly smallFileLimit?: number;
  /** Digests many small files in one job (see `HasherPool.hashSmallFiles`). */
  hashSmallFiles?(absPaths: readonly string[]): Promise<SmallFileOutcome[]>;
}

/** What a scan saw and did. Counts cover the scanned part of the folder. */
export interface ScanSummary {
  /** Regular files, directories and symlinks present on disk (not ignored). */
  files: number;
  dirs: number;
  symlinks: number;
  /** Total size of the files present. */
  bytes: number;
  /** Files whose content was hashed in this scan, and their bytes. */
  hashedFiles: number;
  hashedBytes: number;
  /** Tombstones written (paths found missing). */
  deleted: number;
  /** Entries that could not be read; they are left as they were in the index. */
  errors: number;
  durationMs: number;
}

/** Settings shared by every pass of one scanner. */
export interface PassContext {
  readonly store: IndexStore;
  readonly hasher: FileHasher;
  readonly ignore: IgnoreRules;
  readonly now: () => number;
  readonly concurrency: number;
  readonly racyWindowMs: number;
  /** Paths whose last hash may have raced with a write: rehash them next time. */
  readonly racy: Set<string>;
  /**
   * Paths that could not be read, already warned about: later passes say
   * so at debug level only (a rescan every 10 s must not repeat it), until
   * the path is read again.
   */
  readonly unreadable: Set<string>;
  /**
   * Names that are not valid UTF-8 (as listed, with U+FFFD in place of the
   * bad bytes): they cannot be opened by that name, so they are reported,
   * not synced. Kept until their directory is listed without them.
   */
  readonly invalidNames: Set<string>;
  /**
   * Throws when the folder is gone or replaced; asked before each write to
   * the index, so a pass over a vanished folder commits nothing more.
   */
  readonly checkFolder: () => void;
  /** Told after each write of a pass's records, mid-pass included. */
  readonly onCommit?: () => void;
  /** Told of each dsync `.part` file listed (OS path); see `ScannerOptions`. */
  readonly onPartFile?: (os: string) => void;
  /** A pass writes what it found at least this often, in ms. */
  readonly commitEveryMs: number;
}

const BATCH = 1000;
/** Small files sent to the hasher per job, at most (count and bytes). */
const SMALL_BATCH_FILES = 256;
const SMALL_BATCH_BYTES = 2 << 20;
/**
 * Batches in flight at once: enough that each worker has the next one
 * waiting; more only holds more records in memory.
 */
const SMALL_BATCHES_IN_FLIGHT = 4;
/** A `.part` of dsync's own: `.<name>.dsync-<16 hex>.part`. */
const DSYNC_PART = /^\..*\.dsync-[0-9a-f]{16}\.part$/s;
const YIELD_EVERY_MS = 10;
const EMPTY_HASH = new Uint8Array(0);
const encoder = new TextEncoder();

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function kindOf(info: Deno.FileInfo): FileKind | undefined {
  if (info.isSymlink) return "symlink";
  if (info.isFile) return "file";
  if (info.isDirectory) return "dir";
  return undefined;
}

function mtimeMsOf(info: Deno.FileInfo): number {
  return info.mtime?.getTime() ?? 0;
}

function observe(kind: FileKind, info: Deno.FileInfo): ObservedStat {
  return {
    kind,
    size: kind === "dir" ? 0 : info.size,
    mtimeMs: mtimeMsOf(info),
    exec: kind === "file" && ((info.mode ?? 0) & 0o100) !== 0,
    ...(info.ino === null ? {} : { inode: info.ino }),
  };
}

function localFields(
  info: { ino: number | null; dev: number | null },
): { inode?: number; dev?: number } {
  return {
    ...(info.ino === null ? {} : { inode: info.ino }),
    ...(info.dev === null ? {} : { dev: info.dev }),
  };
}

function sameStat(a: SeenStat, b: SeenStat): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino &&
    a.isFile === b.isFile && a.mode === b.mode;
}

/** A small file found by the walk, waiting for its batch to be sent. */
interface SmallFile {
  readonly rel: string;
  readonly os: string;
  /**
   * Its `lstat` in the walk; undefined for a new file listed as a regular
   * file, which the hasher's own `lstat` looks at first (a cold index of
   * 100,000 files spent a tenth of its main thread in `lstat`).
   */
  readonly before: SeenStat | undefined;
}

function joinOs(parent: string, name: string): string {
  return parent.endsWith(OS_SEP) || parent.endsWith("/")
    ? parent + name
    : parent + OS_SEP + name;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A summary of a scan that found nothing. */
export function emptyScanSummary(): ScanSummary {
  return {
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    hashedFiles: 0,
    hashedBytes: 0,
    deleted: 0,
    errors: 0,
    durationMs: 0,
  };
}

/** State of one scan or targeted rescan. */
export class ScanPass {
  readonly summary: ScanSummary = emptyScanSummary();
  readonly #ctx: PassContext;
  readonly #inflight = new Set<Promise<void>>();
  #puts: FileRecord[] = [];
  #touches: LocalStatUpdate[] = [];
  #lastYield = performance.now();
  #lastCommit = performance.now();
  #fatal: unknown = undefined;
  readonly #vanished = new Set<string>();
  #small: SmallFile[] = [];
  #smallBytes = 0;
  #batchesInFlight = 0;
  #firstVersion: VersionVector | undefined;

  constructor(ctx: PassContext) {
    this.#ctx = ctx;
  }

  /**
   * Walks the directory `rootRel` (at `rootOs`), recording every entry
   * below it, then turns records of `stored` (the index below that
   * directory; consumed) that were not found into tombstones. Unreadable
   * entries and ignored paths are never turned into tombstones.
   */
  async walk(
    rootRel: string,
    rootOs: string,
    stored: Map<string, StoredStat>,
  ): Promise<void> {
    // `stored` is consumed: what is found on disk is taken out, what is
    // left at the end is missing.
    const unreadable: string[] = [];
    const stack: [string, string][] = [[rootRel, rootOs]];
    while (stack.length > 0) {
      const [dirRel, dirOs] = stack.pop()!;
      let entries: Deno.DirEntry[];
      try {
        // One synchronous listing per directory is ~3x faster than the async
        // iterator; the walk yields to the event loop between directories.
        entries = [...Deno.readDirSync(dirOs)];
      } catch (err) {
        // A directory that vanished after its parent was listed is gone; the
        // root is never taken for gone (an unmounted folder is not a delete).
        if (err instanceof Deno.errors.NotFound && dirRel !== rootRel) continue;
        this.#fail(dirRel, "Cannot read directory", err);
        unreadable.push(dirRel);
        continue;
      }
      this.#readable(dirRel);
      if (this.#ctx.invalidNames.size > 0) {
        for (const path of this.#ctx.invalidNames) {
          if (parentRel(path) === dirRel) this.#ctx.invalidNames.delete(path);
        }
      }
      const names = new Set<string>();
      for (const entry of entries) {
        const rel = joinRel(dirRel, entry.name);
        if (entry.isFile && DSYNC_PART.test(entry.name)) {
          this.#ctx.onPartFile?.(joinOs(dirOs, entry.name));
        }
        if (this.#ctx.ignore.ignores(rel, entry.isDirectory)) continue;
        // Deno lists a name that is not UTF-8 with U+FFFD for the bad
        // bytes; that spelling names no file, so it cannot be read or synced.
        if (
          entry.name.includes("\uFFFD") &&
          !this.#exists(joinOs(dirOs, entry.name))
        ) {
          this.#invalidName(rel);
          continue;
        }
        if (names.has(rel)) {
          this.#fail(
            rel,
            "Skipping duplicate name after Unicode normalization",
            entry.name,
          );
          continue;
        }
        names.add(rel);
        const os = joinOs(dirOs, entry.name);
        const known = stored.get(rel);
        if (
          known === undefined && entry.isFile && this.#ctx.hasher.hashSmallFiles
        ) {
          await this.#addSmall(rel, os, undefined);
          continue;
        }
        let outcome = this.#look(rel, os, known);
        if (typeof outcome !== "string") {
          if (this.#batches(outcome)) {
            await this.#addSmall(rel, os, seenStatOf(outcome));
          } else if (this.#inflight.size < this.#ctx.concurrency) {
            this.#track(this.#hashFile(rel, os, seenStatOf(outcome), 0));
          } else {
            await this.#hashLater(rel, os, outcome);
          }
          outcome = "file";
        }
        if (outcome === "missing") continue;
        stored.delete(rel);
        if (outcome === "dir") stack.push([rel, os]);
      }
      await this.#maybeYield();
    }
    await this.drain();
    for (const path of this.#vanished) {
      const stat = this.#ctx.store.getStat(path);
      if (stat !== undefined && isWithin(path, rootRel)) stored.set(path, stat);
    }
    for (const record of stored.values()) {
      if (record.deleted) continue;
      if (unreadable.some((dir) => isWithin(record.path, dir))) continue;
      this.tombstone(record);
      await this.#maybeYield();
    }
  }

  /**
   * Looks at one entry: `lstat`s it, decides from the stored stat whether it
   * changed, and records the change (file hashing is queued). Returns
   * `missing` when the entry is gone or unsupported (a FIFO, a socket…),
   * `error` when it could not be read, otherwise its kind.
   */
  async visit(
    rel: string,
    os: string,
    stored: StoredStat | undefined,
    knownInfo?: Deno.FileInfo,
  ): Promise<FileKind | "missing" | "error"> {
    const outcome = this.#look(rel, os, stored, knownInfo);
    if (typeof outcome === "string") return outcome;
    await this.#hashLater(rel, os, outcome);
    return "file";
  }

  /** Queues a hash, waiting for a free slot when all are busy. */
  async #hashLater(
    rel: string,
    os: string,
    info: Deno.FileInfo,
  ): Promise<void> {
    await this.#whenSlotFree();
    this.#track(this.#hashFile(rel, os, seenStatOf(info), 0));
  }

  /**
   * The synchronous part of {@linkcode visit}: everything but hashing,
   * which it asks for by returning the file's stat.
   */
  #look(
    rel: string,
    os: string,
    stored: StoredStat | undefined,
    knownInfo?: Deno.FileInfo,
  ): FileKind | "missing" | "error" | Deno.FileInfo {
    let info: Deno.FileInfo;
    try {
      info = knownInfo ?? Deno.lstatSync(os);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "missing";
      this.#fail(rel, "Cannot stat", err);
      return "error";
    }
    const kind = kindOf(info);
    if (kind === undefined) {
      log.debug("Skipping {path}: not a file, directory or symlink", {
        path: rel,
      });
      return "missing";
    }
    if (kind === "dir" && this.#ctx.ignore.ignores(rel, true)) return "missing";
    const observed = observe(kind, info);
    if (kind === "file") {
      this.summary.files++;
      this.summary.bytes += info.size;
    } else if (kind === "dir") this.summary.dirs++;
    else this.summary.symlinks++;

    const verdict = decideStatChange(stored, observed, this.#ctx.racy.has(rel));
    if (verdict === "unchanged") return kind;
    if (verdict === "exec") {
      const full = this.#ctx.store.get(rel);
      if (full !== undefined) {
        const version = this.#bump(rel, full.version);
        if (version === undefined) return kind;
        this.#put({
          ...full,
          exec: observed.exec,
          version,
          ...localFields(info),
        });
        return kind;
      }
    }
    if (kind === "dir") {
      this.#record({
        path: rel,
        kind,
        size: 0,
        mtimeNs: BigInt(observed.mtimeMs) * 1_000_000n,
        exec: false,
        hash: EMPTY_HASH,
        chunks: [],
        version: EMPTY_VERSION,
        deleted: false,
        sequence: 0,
        ...localFields(info),
      });
    } else if (kind === "symlink") {
      if (!this.#recordSymlink(rel, os, info)) return "error";
    } else {
      return info;
    }
    return kind;
  }

  /** Writes a tombstone for a stored record found missing (unless ignored). */
  tombstone(stat: StoredStat): void {
    if (
      stat.deleted || this.#ctx.ignore.ignores(stat.path, stat.kind === "dir")
    ) return;
    const full = this.#ctx.store.get(stat.path);
    if (full === undefined || full.deleted) return;
    const version = this.#bump(stat.path, full.version);
    if (version === undefined) return;
    this.#ctx.racy.delete(stat.path);
    this.summary.deleted++;
    const { inode: _inode, dev: _dev, symlinkTarget: _target, ...rest } = full;
    this.#put({
      ...rest,
      size: 0,
      exec: false,
      hash: EMPTY_HASH,
      chunks: [],
      deleted: true,
      version,
    });
  }

  /** Waits for queued hashing to finish, then writes pending changes. */
  async drain(): Promise<void> {
    this.#sendSmall();
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    if (this.#fatal !== undefined) throw this.#fatal;
    this.flush();
  }

  /** Waits for queued hashing to finish and drops pending changes (after a failure). */
  async abandon(): Promise<void> {
    this.#small = [];
    this.#smallBytes = 0;
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    this.#puts = [];
    this.#touches = [];
  }

  /**
   * Writes pending changes in one transaction, once the folder is checked
   * to be still there (else throws, and the changes stay pending for
   * {@linkcode abandon}).
   */
  flush(): void {
    const puts = this.#puts;
    const touches = this.#touches;
    if (puts.length === 0 && touches.length === 0) return;
    this.#ctx.checkFolder();
    this.#puts = [];
    this.#touches = [];
    this.#ctx.store.transaction(() => {
      this.#ctx.store.putMany(puts);
      this.#ctx.store.touchMany(touches);
    });
    this.#lastCommit = performance.now();
    if (puts.length > 0) this.#ctx.onCommit?.();
  }

  #recordSymlink(rel: string, os: string, info: Deno.FileInfo): boolean {
    let target: string;
    try {
      target = Deno.readLinkSync(os);
    } catch (err) {
      this.#fail(rel, "Cannot read symlink", err);
      return false;
    }
    const bytes = encoder.encode(target);
    this.#record({
      path: rel,
      kind: "symlink",
      size: bytes.length,
      mtimeNs: BigInt(mtimeMsOf(info)) * 1_000_000n,
      exec: false,
      hash: blake3(bytes),
      chunks: [],
      version: EMPTY_VERSION,
      deleted: false,
      sequence: 0,
      symlinkTarget: target,
      ...localFields(info),
    });
    return true;
  }

  /** Whether a file found with stat `info` is hashed in a batch. */
  #batches(info: Deno.FileInfo): boolean {
    const { smallFileLimit } = this.#ctx.hasher;
    return smallFileLimit !== undefined &&
      this.#ctx.hasher.hashSmallFiles !== undefined &&
      info.size < smallFileLimit;
  }

  /** Queues a small file for a batch; sends the batch when it is full. */
  async #addSmall(
    rel: string,
    os: string,
    before: SeenStat | undefined,
  ): Promise<void> {
    this.#small.push({ rel, os, before });
    this.#smallBytes += before?.size ?? 0;
    if (
      this.#small.length < SMALL_BATCH_FILES &&
      this.#smallBytes < SMALL_BATCH_BYTES
    ) return;
    while (this.#batchesInFlight >= SMALL_BATCHES_IN_FLIGHT) {
      await Promise.race(this.#inflight);
    }
    this.#sendSmall();
  }

  /** Sends the queued small files to the hasher as one batch. */
  #sendSmall(): void {
    if (this.#small.length === 0) return;
    const files = this.#small;
    this.#small = [];
    this.#smallBytes = 0;
    this.#batchesInFlight++;
    this.#track(
      this.#hashBatch(files).finally(() => this.#batchesInFlight--),
    );
  }

  async #hashBatch(files: readonly SmallFile[]): Promise<void> {
    const started = this.#ctx.now();
    const outcomes = await this.#ctx.hasher.hashSmallFiles!(
      files.map((f) => f.os),
    );
    const finished = this.#ctx.now();
    // The stored records, read afresh in one query (see #record); nothing
    // else writes to the index until this loop ends (it never waits).
    const records = this.#ctx.store.getMany(files.map((f) => f.rel));
    const alone: Promise<void>[] = [];
    for (let i = 0; i < files.length; i++) {
      const { rel, os } = files[i]!;
      const outcome = outcomes[i]!;
      if (outcome.kind === "error") {
        this.#unreadableFile(rel, os, files[i]!.before, outcome.error);
        continue;
      }
      let before = files[i]!.before;
      if (before === undefined) {
        before = outcome.before;
        if (!before.isFile) {
          // Listed as a file, something else when looked at: look again.
          alone.push(this.visit(rel, os, undefined).then(() => {}));
          continue;
        }
        this.summary.files++;
        this.summary.bytes += before.size;
      }
      if (outcome.kind === "digest") {
        const again = this.#hashed(
          rel,
          os,
          before,
          outcome.digest,
          outcome.after,
          started,
          finished,
          0,
          records.get(rel) ?? null,
        );
        if (again !== undefined) alone.push(again);
      } else {
        // Grew, or was replaced by something else since it was listed.
        alone.push(this.#hashFile(rel, os, before, 0));
      }
    }
    await Promise.all(alone);
  }

  async #hashFile(
    rel: string,
    os: string,
    before: SeenStat,
    attempt: number,
  ): Promise<void> {
    const started = this.#ctx.now();
    let digest: FileDigest;
    try {
      digest = await this.#ctx.hasher.hashFile(os);
    } catch (err) {
      return this.#unreadableFile(rel, os, before, err);
    }
    let after: Deno.FileInfo;
    try {
      after = Deno.lstatSync(os);
    } catch (err) {
      this.#readable(rel);
      if (err instanceof Deno.errors.NotFound) return this.#markVanished(rel);
      this.#fail(rel, "Cannot stat", err);
      return;
    }
    const finished = this.#ctx.now();
    await this.#hashed(
      rel,
      os,
      before,
      digest,
      seenStatOf(after),
      started,
      finished,
      attempt,
    );
  }

  /**
   * A file whose read failed: vanished, or reported as unreadable. `before`
   * is undefined for a file not counted in the summary yet.
   */
  #unreadableFile(
    rel: string,
    os: string,
    before: SeenStat | undefined,
    err: unknown,
  ): void {
    if (!this.#exists(os)) return this.#markVanished(rel);
    if (before !== undefined) {
      // Counted when seen; it is not indexed, so it is not in the totals.
      this.summary.files--;
      this.summary.bytes -= before.size;
    }
    this.#fail(rel, "Cannot read file", err);
  }

  /**
   * Records a file's digest, read between `started` and `finished`, when
   * its stat `after` the read is the one seen `before` it; else hashes it
   * once more (the returned promise), or leaves it for the next scan.
   */
  #hashed(
    rel: string,
    os: string,
    before: SeenStat,
    digest: FileDigest,
    after: SeenStat,
    started: number,
    finished: number,
    attempt: number,
    stored?: FileRecord | null,
  ): Promise<void> | undefined {
    this.#readable(rel);
    if (!sameStat(before, after) || digest.size !== after.size) {
      if (attempt === 0 && after.isFile) {
        log.debug("{path} changed while being hashed; hashing again", {
          path: rel,
        });
        return this.#hashFile(rel, os, after, 1);
      }
      log.info("{path} keeps changing; leaving it for the next scan", {
        path: rel,
      });
      return;
    }
    const mtimeMs = after.mtimeMs;
    // A write in the same timestamp tick as our read would not change the
    // stat, so such a file is hashed again at the next scan.
    if (
      mtimeMs >= started - this.#ctx.racyWindowMs &&
      mtimeMs <= finished + this.#ctx.racyWindowMs
    ) {
      this.#ctx.racy.add(rel);
    } else {
      this.#ctx.racy.delete(rel);
    }
    this.summary.hashedFiles++;
    this.summary.hashedBytes += digest.size;
    this.#record({
      path: rel,
      kind: "file",
      size: digest.size,
      mtimeNs: BigInt(mtimeMs) * 1_000_000n,
      exec: ((after.mode ?? 0) & 0o100) !== 0,
      hash: digest.hash,
      chunks: digest.chunks,
      version: EMPTY_VERSION,
      deleted: false,
      sequence: 0,
      ...localFields(after),
    }, stored);
    return undefined;
  }

  /**
   * Stores an observed entry: only its local stat when the synced content
   * is unchanged, else as a new version of the path. The stored record is
   * read afresh (not from the pass's snapshot): another writer, such as the
   * puller, may have stored the path since. `stored` is that record when
   * the caller just read it (null: none).
   */
  #record(observed: FileRecord, stored?: FileRecord | null): void {
    const full = stored === undefined
      ? this.#ctx.store.get(observed.path)
      : stored ?? undefined;
    if (
      full !== undefined && sameContent(full, { ...observed, deleted: false })
    ) {
      this.#touches.push({
        path: observed.path,
        mtimeNs: observed.mtimeNs,
        ...(observed.inode === undefined ? {} : { inode: observed.inode }),
        ...(observed.dev === undefined ? {} : { dev: observed.dev }),
      });
      if (this.#touches.length >= BATCH) this.flush();
      return;
    }
    const version = this.#bump(observed.path, full?.version ?? EMPTY_VERSION);
    if (version === undefined) return;
    this.#put({ ...observed, version });
  }

  /**
   * `version` with this replica's counter one higher, or undefined (logged)
   * when the counter cannot go higher: that one path keeps its record, the
   * rest of the scan goes on.
   */
  #bump(path: string, version: VersionVector): VersionVector | undefined {
    // Every new path gets the same vector: made once (vectors are frozen).
    if (version === EMPTY_VERSION) {
      return this.#firstVersion ??= bump(version, this.#ctx.store.replicaId);
    }
    try {
      return bump(version, this.#ctx.store.replicaId);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      log.warn(
        "Cannot record the change of {path}: {error}. Its record stays as it is",
        { path, error: err.message },
      );
      return undefined;
    }
  }

  #put(record: FileRecord): void {
    this.#puts.push(record);
    if (
      this.#puts.length >= BATCH ||
      performance.now() - this.#lastCommit >= this.#ctx.commitEveryMs
    ) {
      this.flush();
    }
  }

  #markVanished(rel: string): void {
    // Gone between the directory listing and the read: not seen after all.
    log.debug("{path} vanished while being hashed", { path: rel });
    this.#vanished.add(rel);
  }

  async #maybeYield(): Promise<void> {
    if (performance.now() - this.#lastYield > YIELD_EVERY_MS) {
      await yieldToEventLoop();
      this.#lastYield = performance.now();
    }
  }

  #exists(os: string): boolean {
    try {
      Deno.lstatSync(os);
      return true;
    } catch {
      return false;
    }
  }

  #fail(rel: string, what: string, err: unknown): void {
    this.summary.errors++;
    const props = { what, path: rel, error: message(err) };
    if (this.#ctx.unreadable.has(rel)) {
      log.debug("{what} {path}: {error}", props);
      return;
    }
    this.#ctx.unreadable.add(rel);
    log.warn(
      "{what} {path}: {error}. Skipping it (nothing is deleted on peers) until it can be read",
      props,
    );
  }

  #invalidName(rel: string): void {
    if (this.#ctx.invalidNames.has(rel)) return;
    this.#ctx.invalidNames.add(rel);
    log.warn(
      "The name {path} is not valid UTF-8 (shown with \uFFFD for the bad bytes); it is not synced. Rename it to sync it",
      { path: rel },
    );
  }

  /** `rel` was read: a path warned about before says it is back. */
  #readable(rel: string): void {
    if (this.#ctx.unreadable.size === 0 || !this.#ctx.unreadable.delete(rel)) {
      return;
    }
    log.info("{path} can be read again; indexing it", { path: rel });
  }

  async #whenSlotFree(): Promise<void> {
    while (this.#inflight.size >= this.#ctx.concurrency) {
      await Promise.race(this.#inflight);
    }
  }

  #track(task: Promise<void>): void {
    // Expected failures are handled inside the task; anything else (a
    // corrupt index, a bug) fails the whole pass at the next drain.
    const tracked: Promise<void> = task
      .catch((err) => {
        this.#fatal ??= err;
      })
      .finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }
}
