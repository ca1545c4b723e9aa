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
 * Bytes a kept record is counted for beyond its chunks: the entry, its
 * map slot, the path and two typed-array views on one buffer. Counting
 * chunks alone let a sender of 100,000 files of 1 KiB keep 32,768 whole
 * decoded records (one chunk each) per peer: ~50 MB of its heap, which
 * V8 then doubled (issue #21, large folders).
 */
export const KEPT_ENTRY_BYTES = 400;
/** Bytes a kept record holds per chunk: offset, length and hash. */
export const KEPT_CHUNK_BYTES = 48;

/** What {@linkcode IndexChunkLookup} counts a kept record of `path` with `chunks` chunks for. */
export function keptBytesOf(path: string, chunks: number): number {
  return KEPT_ENTRY_BYTES + 2 * path.length + KEPT_CHUNK_BYTES * chunks;
}

/**
 * Bytes of records kept, at most (beyond the last one asked for, always
 * kept): the chunk tables of ~5 GiB of files at the 64 KiB average, or
 * ~9,000 small files.
 */
export const LOOKUP_CACHE_BYTES = 4 << 20;

/** One record's chunk table and stamp, and when it was looked up. */
interface CachedRecord {
  readonly path: string;
  readonly sequence: number;
  /** `maxSequence` of the records when this one was last checked. */
  latest: number | undefined;
  /** Undefined for a record that holds no chunks (deleted, not a file). */
  readonly table: ChunkTable | undefined;
  readonly stamp: IndexedStamp | undefined;
  /** What it is counted for (see {@linkcode keptBytesOf}). */
  readonly bytes: number;
}

/**
 * A record's chunks in one buffer: offsets (ascending) then lengths in
 * `numbers`, hashes end to end in `hashes`. The decoded record is not
 * kept: each of its chunks is an object and a hash view.
 */
interface ChunkTable {
  readonly count: number;
  readonly numbers: Float64Array;
  readonly hashes: Uint8Array;
}

function chunkTable(record: FileRecord): ChunkTable {
  const chunks = record.chunks;
  const count = chunks.length;
  const buffer = new ArrayBuffer(KEPT_CHUNK_BYTES * count);
  const numbers = new Float64Array(buffer, 0, 2 * count);
  const hashes = new Uint8Array(buffer, 16 * count, 32 * count);
  let i = 0;
  for (const c of chunks) {
    numbers[i] = c.offset;
    // A hash of another length matches no request (no length is -1).
    numbers[count + i] = c.hash.length === 32 ? c.length : -1;
    if (c.hash.length === 32) hashes.set(c.hash, 32 * i);
    i++;
  }
  return { count, numbers, hashes };
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

/** The index of the chunk at `offset` in `table`, or -1. */
function chunkAt(table: ChunkTable, offset: number): number {
  let lo = 0;
  let hi = table.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = table.numbers[mid]!;
    if (at < offset) lo = mid + 1;
    else if (at > offset) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/**
 * {@linkcode IndexedChunks} over the local index. The chunk tables of the
 * paths asked for recently are kept while their sequence is unchanged
 * (least recently asked dropped first, past {@linkcode LOOKUP_CACHE_BYTES}):
 * a big file's chunk list is decoded once per pull, not once per
 * request. One record was kept before; a peer pulling four big files at
 * once alternates between them, so every request decoded a whole 4,096-chunk
 * list again (27% of the sender's CPU for 1 GiB in 4 files).
 */
export class IndexChunkLookup implements IndexedChunks {
  readonly #records: LocalRecords;
  /** In order of last use, oldest first. */
  readonly #cache = new Map<string, CachedRecord>();
  #keptBytes = 0;
  readonly #maxBytes: number;

  constructor(records: LocalRecords, maxBytes = LOOKUP_CACHE_BYTES) {
    this.#records = records;
    this.#maxBytes = maxBytes;
  }

  /** Bytes the kept records are counted for (see {@linkcode keptBytesOf}). */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Records kept. */
  get keptRecords(): number {
    return this.#cache.size;
  }

  holds(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): boolean {
    const table = this.#current(path)?.table;
    if (table === undefined) return false;
    const at = chunkAt(table, offset);
    return at >= 0 && table.numbers[table.count + at] === length &&
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
    // A chunk list may be lazy (each element made when read): searching
    // it cost ~13 made elements per request, 0.13-0.25 s of the sender's
    // CPU per GiB; it is read once per kept record instead.
    const live = !record.deleted && record.kind === "file";
    const fresh: CachedRecord = {
      path,
      sequence: record.sequence,
      latest,
      table: live ? chunkTable(record) : undefined,
      stamp: stampOfRecord(record),
      bytes: keptBytesOf(path, live ? record.chunks.length : 0),
    };
    this.#cache.set(path, fresh);
    this.#keptBytes += fresh.bytes;
    for (const old of this.#cache.values()) {
      if (this.#keptBytes <= this.#maxBytes || old === fresh) break;
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
    this.#keptBytes -= entry.bytes;
  }
}
