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
  /** The chunks as flat arrays, made at the first lookup (see `holds`). */
  table?: ChunkTable;
}

/** A record's chunks: offsets (ascending), lengths, and hashes end to end. */
interface ChunkTable {
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly hashes: Uint8Array;
}

function chunkTable(record: FileRecord): ChunkTable {
  const chunks = record.chunks;
  const offsets = new Float64Array(chunks.length);
  const lengths = new Float64Array(chunks.length);
  const hashes = new Uint8Array(32 * chunks.length);
  let i = 0;
  for (const c of chunks) {
    offsets[i] = c.offset;
    // A hash of another length matches no request (no length is -1).
    lengths[i] = c.hash.length === 32 ? c.length : -1;
    if (c.hash.length === 32) hashes.set(c.hash, 32 * i);
    i++;
  }
  return { offsets, lengths, hashes };
}

/** True when `hash` is the 32 bytes at `hashes[32 * at]`. */
function hashAt(hashes: Uint8Array, at: number, hash: Uint8Array): boolean {
  if (hash.length !== 32) return false;
  const from = 32 * at;
  for (let k = 0; k < 32; k++) {
    if (hashes[from + k] !== hash[k]) return false;
  }
  return true;
}

/**
 * The index of `record`'s chunk at `offset` in `offsets` (its chunks'
 * offsets, ascending), or -1.
 */
function chunkAt(offsets: Float64Array, offset: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = offsets[mid]!;
    if (at < offset) lo = mid + 1;
    else if (at > offset) hi = mid - 1;
    else return mid;
  }
  return -1;
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
    const { record } = cached;
    if (record.deleted || record.kind !== "file") return false;
    // A chunk list may be lazy (each element made when read): searching
    // it cost ~13 made elements per request, 0.13-0.25 s of the sender's
    // CPU per GiB; it is read once per cached record instead.
    const table = cached.table ??= chunkTable(record);
    const at = chunkAt(table.offsets, offset);
    return at >= 0 && table.lengths[at] === length &&
      hashAt(table.hashes, at, hash);
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
