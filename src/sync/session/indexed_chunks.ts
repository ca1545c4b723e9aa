/**
 * Which chunks may be served: only whole chunks of the current index,
 * named by offset, length and hash. A responder that read any range and
 * answered "ok" or "changed" by comparing the bytes with the requested hash
 * was an oracle: 256 one-byte guesses per offset read a file back without
 * knowing any of it (issue #19). A request that names no indexed chunk is
 * answered `changed` without reading the disk.
 * @module
 */
import { type FileRecord, sameBytes } from "../../index/mod.ts";

/** Size and modification time of a file as its index record holds them. */
export interface IndexedStamp {
  readonly size: number;
  /** Modification time in whole milliseconds (what `stat` reports here). */
  readonly mtimeMs: number;
}

/** The chunks this folder may serve. */
export interface IndexedChunks {
  /** True when `path`'s current record has a chunk at `offset` of `length` bytes with `hash`. */
  holds(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): boolean;
  /**
   * Size and mtime of `path`'s current record (the one `holds` looked at
   * last), or undefined when it has none. A file whose `stat` still shows
   * them is taken to hold the indexed bytes, without hashing them again.
   */
  stampOf?(path: string): IndexedStamp | undefined;
}

/** The stamp of a live file record. */
export function stampOfRecord(record: FileRecord): IndexedStamp | undefined {
  if (record.deleted || record.kind !== "file") return undefined;
  return {
    size: record.size,
    mtimeMs: Number(record.mtimeNs / 1_000_000n),
  };
}

/** Where the current local record of a path comes from. */
export interface LocalRecords {
  get(path: string): FileRecord | undefined;
  sequenceOf(path: string): number | undefined;
  /**
   * The last sequence assigned to any record, when known cheaply: while it
   * stays the same no record was replaced, and the kept one is asked for
   * nothing (a query per chunk request cost the sender ~2 s per GiB).
   */
  readonly maxSequence?: number;
}

/** True when `record` has a chunk exactly at `offset`, `length`, `hash`. */
export function recordHoldsChunk(
  record: FileRecord,
  offset: number,
  length: number,
  hash: Uint8Array,
): boolean {
  if (record.deleted || record.kind !== "file") return false;
  const chunks = record.chunks;
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = chunks[mid]!;
    if (c.offset < offset) lo = mid + 1;
    else if (c.offset > offset) hi = mid - 1;
    else return c.length === length && sameBytes(c.hash, hash);
  }
  return false;
}

/**
 * Chunks of records kept decoded, at most (beyond the last one asked
 * for, always kept): about 5 MB, the chunk lists of 2 GiB of files at the
 * 64 KiB average.
 */
export const LOOKUP_CACHE_CHUNKS = 32_768;

/** One record kept decoded, and when it was looked up. */
interface CachedRecord {
  readonly path: string;
  readonly sequence: number;
  /** `maxSequence` of the records when this one was last checked. */
  latest: number | undefined;
  readonly record: FileRecord;
  readonly stamp: IndexedStamp | undefined;
}

/**
 * {@linkcode IndexedChunks} over the local index. The records of the paths
 * asked for recently are kept decoded while their sequence is unchanged
 * (least recently asked dropped first, past {@linkcode LOOKUP_CACHE_CHUNKS}
 * chunks): a big file's chunk list is decoded once per pull, not once per
 * request. One record was kept before; a peer pulling four big files at
 * once alternates between them, so every request decoded a whole 4,096-chunk
 * list again (27% of the sender's CPU for 1 GiB in 4 files).
 */
export class IndexChunkLookup implements IndexedChunks {
  readonly #records: LocalRecords;
  /** In order of last use, oldest first. */
  readonly #cache = new Map<string, CachedRecord>();
  #cachedChunks = 0;
  readonly #maxChunks: number;

  constructor(records: LocalRecords, maxChunks = LOOKUP_CACHE_CHUNKS) {
    this.#records = records;
    this.#maxChunks = maxChunks;
  }

  holds(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): boolean {
    const cached = this.#current(path);
    if (cached === undefined) return false;
    return recordHoldsChunk(cached.record, offset, length, hash);
  }

  stampOf(path: string): IndexedStamp | undefined {
    return this.#current(path)?.stamp;
  }

  #current(path: string): CachedRecord | undefined {
    const latest = this.#records.maxSequence;
    const cached = this.#cache.get(path);
    if (latest !== undefined && cached?.latest === latest) {
      this.#touch(cached);
      return cached;
    }
    if (cached !== undefined) {
      const sequence = this.#records.sequenceOf(path);
      if (cached.sequence === sequence) {
        cached.latest = latest;
        this.#touch(cached);
        return cached;
      }
      this.#drop(cached);
      if (sequence === undefined) return undefined;
    }
    // A path not kept: one query, whose record carries its sequence (asking
    // for the sequence first was a second query per small file served, 4 s
    // of the sender's 72 busy seconds for 100,000 files of 1 KiB).
    const record = this.#records.get(path);
    if (record === undefined) return undefined;
    const fresh: CachedRecord = {
      path,
      sequence: record.sequence,
      latest,
      record,
      stamp: stampOfRecord(record),
    };
    this.#cache.set(path, fresh);
    this.#cachedChunks += record.chunks.length;
    for (const old of this.#cache.values()) {
      if (this.#cachedChunks <= this.#maxChunks || old === fresh) break;
      this.#drop(old);
    }
    return fresh;
  }

  #touch(entry: CachedRecord): void {
    this.#cache.delete(entry.path);
    this.#cache.set(entry.path, entry);
  }

  #drop(entry: CachedRecord): void {
    this.#cache.delete(entry.path);
    this.#cachedChunks -= entry.record.chunks.length;
  }
}
