/**
 * The hashing half of a scan pass: the files the walk found changed go to
 * the hasher, small ones in batches (`FileHasher.hashSmallFiles`, one
 * worker job per batch) and the others one by one, with a bound on what is
 * in flight. Each digest is kept only if the file's stat after the read is
 * the one seen before it (else the file is hashed once more), and is then
 * handed to the pass to record. Internal to `scan_pass.ts`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ChunkInfo, FileDigest } from "./file_digest.ts";
import type { FileKind, FileRecord } from "./file_record.ts";
import {
  localFields,
  type PassContext,
  pathExists,
  type ScanSummary,
} from "./scan_context.ts";
import { type SeenStat, seenStatOf } from "./small_file_batch.ts";
import type { StoredStat } from "./store.ts";
import { EMPTY_VERSION } from "./version_vector.ts";

/**
 * Files from this size on are re-digested with the chunks the index holds
 * for them: below it the scan saved is smaller than the record's lookup.
 */
const KNOWN_CUTS_FROM = 4 << 20;

const log = getLogger(["dsync", "index", "scanner"]);

/** Small files sent to the hasher per job, at most (count and bytes). */
const SMALL_BATCH_FILES = 256;
const SMALL_BATCH_BYTES = 2 << 20;
/**
 * Batches in flight at once: enough that each worker has the next one
 * waiting; more only holds more records in memory.
 */
const SMALL_BATCHES_IN_FLIGHT = 4;

/** The pass, as the hash queue hands it what it found. */
export interface HashedFileSink {
  /** Counts of the pass; the queue adds files first seen by the hasher, and what it hashed. */
  readonly summary: ScanSummary;
  /** Stores an observed file (see `ScanPass.record`); `stored` as just read (null: none). */
  record(observed: FileRecord, stored?: FileRecord | null): void;
  /** Looks at an entry again, from its `lstat` (see `ScanPass.visit`). */
  visit(
    rel: string,
    os: string,
    stored: StoredStat | undefined,
  ): Promise<FileKind | "missing" | "error">;
  /** `rel` could be read. */
  readable(rel: string): void;
  /** `rel` could not be read: `what` failed with `err`. */
  fail(rel: string, what: string, err: unknown): void;
  /** `rel` was gone by the time it was read. */
  vanished(rel: string): void;
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

function sameStat(a: SeenStat, b: SeenStat): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino &&
    a.isFile === b.isFile && a.mode === b.mode;
}

/** Files of one pass on their way through the hasher. */
export class HashQueue {
  readonly #ctx: PassContext;
  readonly #sink: HashedFileSink;
  readonly #inflight = new Set<Promise<void>>();
  #fatal: unknown = undefined;
  #small: SmallFile[] = [];
  #smallBytes = 0;
  #batchesInFlight = 0;

  constructor(ctx: PassContext, sink: HashedFileSink) {
    this.#ctx = ctx;
    this.#sink = sink;
  }

  /** Whether new files listed as regular files go straight to a batch. */
  get batchesNewFiles(): boolean {
    return this.#ctx.hasher.hashSmallFiles !== undefined;
  }

  /** Whether a file of `size` bytes is hashed in a batch. */
  batches(size: number): boolean {
    const { smallFileLimit } = this.#ctx.hasher;
    return smallFileLimit !== undefined &&
      this.#ctx.hasher.hashSmallFiles !== undefined &&
      size < smallFileLimit;
  }

  /** Whether a file handed to {@linkcode hash} now starts at once. */
  get hasFreeSlot(): boolean {
    return this.#inflight.size < this.#ctx.concurrency;
  }

  /** Starts hashing one file now, whether or not a slot is free. */
  hash(rel: string, os: string, before: SeenStat): void {
    this.#track(this.#hashFile(rel, os, before, 0));
  }

  /** Starts hashing one file once a slot is free. */
  async hashWhenFree(rel: string, os: string, before: SeenStat): Promise<void> {
    while (this.#inflight.size >= this.#ctx.concurrency) {
      await Promise.race(this.#inflight);
    }
    this.hash(rel, os, before);
  }

  /** Queues a small file for a batch; sends the batch when it is full. */
  async addSmall(
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

  /**
   * Sends what is queued and waits for every hash to be handed over;
   * throws the first unexpected failure of any of them.
   */
  async drain(): Promise<void> {
    this.#sendSmall();
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  /** Drops what is queued and waits for what is in flight (after a failure). */
  async abandon(): Promise<void> {
    this.#small = [];
    this.#smallBytes = 0;
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
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
    // The stored records, read afresh in one query (see ScanPass.record);
    // nothing else writes to the index until this loop ends (it never waits).
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
          alone.push(this.#sink.visit(rel, os, undefined).then(() => {}));
          continue;
        }
        this.#sink.summary.files++;
        this.#sink.summary.bytes += before.size;
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
      digest = await this.#ctx.hasher.hashFile(
        os,
        before.size >= KNOWN_CUTS_FROM ? this.#previousChunks(rel) : undefined,
      );
    } catch (err) {
      return this.#unreadableFile(rel, os, before, err);
    }
    let after: Deno.FileInfo;
    try {
      after = Deno.lstatSync(os);
    } catch (err) {
      this.#sink.readable(rel);
      if (err instanceof Deno.errors.NotFound) return this.#sink.vanished(rel);
      this.#sink.fail(rel, "Cannot stat", err);
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
    if (!pathExists(os)) return this.#sink.vanished(rel);
    if (before !== undefined) {
      // Counted when seen; it is not indexed, so it is not in the totals.
      this.#sink.summary.files--;
      this.#sink.summary.bytes -= before.size;
    }
    this.#sink.fail(rel, "Cannot read file", err);
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
    this.#sink.readable(rel);
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
    this.#sink.summary.hashedFiles++;
    this.#sink.summary.hashedBytes += digest.size;
    this.#sink.record({
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

  /** The chunks the index holds for `rel`, to re-cut only what changed (`known_cuts.ts`). */
  #previousChunks(rel: string): readonly ChunkInfo[] | undefined {
    const stored = this.#ctx.store.get(rel);
    return stored === undefined || stored.deleted || stored.kind !== "file"
      ? undefined
      : stored.chunks;
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
