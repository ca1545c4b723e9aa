/**
 * One pass of the scanner: walks part of the folder, compares what it finds
 * with the index, hashes what changed (several files in flight) and writes
 * the changes in batched transactions. Hashing is `hash_queue.ts`'s; this
 * is the walk and the recording. Internal to `scanner.ts`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type FileKind, type FileRecord, sameContent } from "./file_record.ts";
import { blake3 } from "./hash.ts";
import { type HashedFileSink, HashQueue } from "./hash_queue.ts";
import { isWithin, joinRel, OS_SEP, parentRel } from "./rel_path.ts";
import {
  emptyScanSummary,
  localFields,
  type PassContext,
  pathExists,
  type ScanSummary,
} from "./scan_context.ts";
import { seenStatOf } from "./small_file_batch.ts";
import { decideStatChange, type ObservedStat } from "./stat_change.ts";
import type { LocalStatUpdate, StoredStat } from "./store.ts";
import { bump, EMPTY_VERSION, type VersionVector } from "./version_vector.ts";

const log = getLogger(["dsync", "index", "scanner"]);

const BATCH = 1000;
/**
 * A record of a file this big is committed (and so announced) at once:
 * hashing it took far longer than a commit, and peers wait for it. Others
 * wait for the batch or `commitEveryMs`, which is checked only at the
 * next record: with 4 files of 256 MiB, the first one's record waited
 * for the second file's.
 */
const COMMIT_NOW_BYTES = 16 << 20;
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

function joinOs(parent: string, name: string): string {
  return parent.endsWith(OS_SEP) || parent.endsWith("/")
    ? parent + name
    : parent + OS_SEP + name;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** State of one scan or targeted rescan. */
export class ScanPass implements HashedFileSink {
  readonly summary: ScanSummary = emptyScanSummary();
  readonly #ctx: PassContext;
  readonly #hashing: HashQueue;
  #puts: FileRecord[] = [];
  #touches: LocalStatUpdate[] = [];
  #lastYield = performance.now();
  #lastCommit = performance.now();
  readonly #vanished = new Set<string>();
  #firstVersion: VersionVector | undefined;

  constructor(ctx: PassContext) {
    this.#ctx = ctx;
    this.#hashing = new HashQueue(ctx, this);
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
        this.fail(dirRel, "Cannot read directory", err);
        unreadable.push(dirRel);
        continue;
      }
      this.readable(dirRel);
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
          !pathExists(joinOs(dirOs, entry.name))
        ) {
          this.#invalidName(rel);
          continue;
        }
        if (names.has(rel)) {
          this.fail(
            rel,
            "Skipping duplicate name after Unicode normalization",
            entry.name,
          );
          continue;
        }
        names.add(rel);
        const os = joinOs(dirOs, entry.name);
        const known = stored.get(rel);
        const hashing = this.#hashing;
        if (known === undefined && entry.isFile && hashing.batchesNewFiles) {
          await hashing.addSmall(rel, os, undefined);
          continue;
        }
        let outcome = this.#look(rel, os, known);
        if (typeof outcome !== "string") {
          const seen = seenStatOf(outcome);
          if (hashing.batches(outcome.size)) {
            await hashing.addSmall(rel, os, seen);
          } else if (hashing.hasFreeSlot) {
            hashing.hash(rel, os, seen);
          } else {
            await hashing.hashWhenFree(rel, os, seen);
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
    await this.#hashing.hashWhenFree(rel, os, seenStatOf(outcome));
    return "file";
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
      this.fail(rel, "Cannot stat", err);
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
      this.record({
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
    await this.#hashing.drain();
    this.flush();
  }

  /** Waits for queued hashing to finish and drops pending changes (after a failure). */
  async abandon(): Promise<void> {
    await this.#hashing.abandon();
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
      this.fail(rel, "Cannot read symlink", err);
      return false;
    }
    const bytes = encoder.encode(target);
    this.record({
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

  /**
   * Stores an observed entry: only its local stat when the synced content
   * is unchanged, else as a new version of the path. The stored record is
   * read afresh (not from the pass's snapshot): another writer, such as the
   * puller, may have stored the path since. `stored` is that record when
   * the caller just read it (null: none).
   */
  record(observed: FileRecord, stored?: FileRecord | null): void {
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
      this.#puts.length >= BATCH || record.size >= COMMIT_NOW_BYTES ||
      performance.now() - this.#lastCommit >= this.#ctx.commitEveryMs
    ) {
      this.flush();
    }
  }

  /** `rel` was gone by the time it was read. */
  vanished(rel: string): void {
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

  /** `rel` could not be read: `what` failed with `err` (warned once). */
  fail(rel: string, what: string, err: unknown): void {
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
  readable(rel: string): void {
    if (this.#ctx.unreadable.size === 0 || !this.#ctx.unreadable.delete(rel)) {
      return;
    }
    log.info("{path} can be read again; indexing it", { path: rel });
  }
}
