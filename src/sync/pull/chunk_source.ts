/**
 * Local chunk reuse: where on local disk a wanted chunk (hash, length)
 * already lies, so renames, copies, moves and small edits of big files cost
 * no network.
 *
 * {@linkcode LocalChunkIndex} is an in-memory hash table over the index's
 * chunk lists, kept in typed arrays (about 24 bytes per slot, at most 60%
 * full: ~4 MB for 100,000 one-chunk files, ~50 MB for a million chunks). It
 * is built and then kept current from `IndexStore.chunkListsSince` (records
 * changed since the last refresh) by {@linkcode LocalChunkIndex.refresh},
 * which yields to the event loop between pages. A persistent SQLite table
 * keyed by chunk hash was measured first: its random B-tree inserts made
 * `putMany` 3-5x slower on 100,000 files, a cost every scan would pay.
 *
 * Entries are keyed by the first 8 bytes of the hash and files change under
 * us, so a location is only a candidate: {@linkcode readChunkVerified} reads
 * it and returns the bytes only when their BLAKE3 is the wanted hash.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  blake3,
  type IndexStore,
  sameBytes,
  toOsPath,
} from "../../index/mod.ts";

const log = getLogger(["dsync", "sync", "chunk_source"]);

/** Where a chunk lies in the folder. */
export interface ChunkLocation {
  /** Canonical relative path of the file. */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/** Options of {@linkcode LocalChunkIndex}. */
export interface LocalChunkIndexOptions {
  /** Records read from the store per page in `refresh` (default 2000). */
  readonly pageSize?: number;
}

const ENTRY_BYTES = 36; // encodeChunks: u32 BE length + 32-byte hash
const MIN_CAPACITY = 1024;
const MAX_LOAD = 0.6;

/** Per-process random mixing key, so crafted hash prefixes cannot pile up in one probe run. */
const SEED = crypto.getRandomValues(new Uint32Array(2));

/** Slot of a key: a seeded 32-bit mix of its two halves. */
function mix(hi: number, lo: number): number {
  let h = Math.imul(hi ^ SEED[0]!, 0x9e3779b1) ^ (lo ^ SEED[1]!);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
    bytes[at + 3]!) >>> 0;
}

/** Where the chunks of the folder's files lie, by hash. */
export class LocalChunkIndex {
  readonly #store: IndexStore;
  readonly #pageSize: number;
  #sequence = 0;
  #refreshing: Promise<void> | undefined;
  /** path → id of its current live file entry. */
  #ids = new Map<string, number>();
  /** id → path, undefined once that version of the file is gone. Id 0 marks empty slots. */
  #paths: (string | undefined)[] = [undefined];
  /** id → number of slots it holds. */
  #slotCounts: number[] = [0];
  #mask = MIN_CAPACITY - 1;
  #hi = new Uint32Array(MIN_CAPACITY);
  #lo = new Uint32Array(MIN_CAPACITY);
  #file = new Uint32Array(MIN_CAPACITY);
  #offset = new Float64Array(MIN_CAPACITY);
  #length = new Uint32Array(MIN_CAPACITY);
  #used = 0;
  #dead = 0;

  constructor(store: IndexStore, options: LocalChunkIndexOptions = {}) {
    this.#store = store;
    this.#pageSize = Math.max(1, options.pageSize ?? 2000);
  }

  /** Chunk entries held, including those of files that changed since (until compaction). */
  get size(): number {
    return this.#used;
  }

  /**
   * Reads the records changed since the last refresh (all of them the first
   * time) and updates the table; concurrent calls share one run. Call it
   * before planning a batch of pulls.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    for (;;) {
      const rows = this.#store.chunkListsSince(this.#sequence, this.#pageSize);
      for (const row of rows) {
        this.#forget(row.path);
        if (row.liveFile && row.chunks.length > 0) {
          this.#add(row.path, row.chunks);
        }
        this.#sequence = row.sequence;
      }
      if (rows.length < this.#pageSize) return;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /**
   * Up to `limit` places (default 4) of live files that held a chunk of
   * `length` bytes with this hash when last indexed. Candidates only: read
   * them with {@linkcode readChunkVerified}.
   */
  find(hash: Uint8Array, length: number, limit = 4): ChunkLocation[] {
    if (hash.length < 8) {
      throw new RangeError(`Chunk hash of ${hash.length} bytes is too short`);
    }
    const hi = word(hash, 0);
    const lo = word(hash, 4);
    const out: ChunkLocation[] = [];
    for (let slot = mix(hi, lo) & this.#mask;; slot = (slot + 1) & this.#mask) {
      const id = this.#file[slot]!;
      if (id === 0) break;
      if (
        this.#hi[slot] === hi && this.#lo[slot] === lo &&
        this.#length[slot] === length
      ) {
        const path = this.#paths[id];
        if (path !== undefined) {
          out.push({ path, offset: this.#offset[slot]!, length });
          if (out.length >= limit) break;
        }
      }
    }
    return out;
  }

  #forget(path: string): void {
    const id = this.#ids.get(path);
    if (id === undefined) return;
    this.#ids.delete(path);
    this.#paths[id] = undefined;
    this.#dead += this.#slotCounts[id]!;
    this.#slotCounts[id] = 0;
  }

  #add(path: string, chunks: Uint8Array): void {
    const count = Math.floor(chunks.length / ENTRY_BYTES);
    this.#reserve(count);
    const id = this.#paths.length;
    this.#paths.push(path);
    this.#slotCounts.push(count);
    this.#ids.set(path, id);
    let offset = 0;
    for (let k = 0; k < count; k++) {
      const at = k * ENTRY_BYTES;
      const length = word(chunks, at);
      this.#insert(
        word(chunks, at + 4),
        word(chunks, at + 8),
        id,
        offset,
        length,
      );
      offset += length;
    }
  }

  #insert(
    hi: number,
    lo: number,
    id: number,
    offset: number,
    length: number,
  ): void {
    let slot = mix(hi, lo) & this.#mask;
    while (this.#file[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#file[slot] = id;
    this.#offset[slot] = offset;
    this.#length[slot] = length;
    this.#used++;
  }

  /**
   * Makes room for `more` entries: when the table would pass 60% full, it is
   * rebuilt without dead entries at a size that leaves it at most 30% full.
   */
  #reserve(more: number): void {
    const capacity = this.#mask + 1;
    if (this.#used + more <= capacity * MAX_LOAD) return;
    const live = this.#used - this.#dead;
    let next = MIN_CAPACITY;
    while (live + more > next * MAX_LOAD / 2) next *= 2;
    this.#rehash(next);
  }

  /** Rebuilds the table at `capacity`, dropping dead entries and renumbering files. */
  #rehash(capacity: number): void {
    const old = {
      hi: this.#hi,
      lo: this.#lo,
      file: this.#file,
      offset: this.#offset,
      length: this.#length,
    };
    const renumber = new Map<number, number>();
    const paths: (string | undefined)[] = [undefined];
    const counts: number[] = [0];
    for (const [path, id] of this.#ids) {
      renumber.set(id, paths.length);
      this.#ids.set(path, paths.length);
      paths.push(path);
      counts.push(this.#slotCounts[id]!);
    }
    this.#paths = paths;
    this.#slotCounts = counts;
    this.#mask = capacity - 1;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#file = new Uint32Array(capacity);
    this.#offset = new Float64Array(capacity);
    this.#length = new Uint32Array(capacity);
    this.#used = 0;
    this.#dead = 0;
    for (let slot = 0; slot < old.file.length; slot++) {
      const id = renumber.get(old.file[slot]!);
      if (id === undefined) continue;
      this.#insert(
        old.hi[slot]!,
        old.lo[slot]!,
        id,
        old.offset[slot]!,
        old.length[slot]!,
      );
    }
  }
}

/**
 * Reads `loc` from the folder and returns its bytes when they hash to
 * `expectedHash`; undefined when the file is gone, is no longer a regular
 * file, is too short, cannot be read, or holds other bytes there now.
 */
export async function readChunkVerified(
  folder: string,
  loc: ChunkLocation,
  expectedHash: Uint8Array,
): Promise<Uint8Array | undefined> {
  const os = toOsPath(folder, loc.path);
  try {
    // lstat first: opening a FIFO that replaced the file would block.
    const info = await Deno.lstat(os);
    if (!info.isFile || info.size < loc.offset + loc.length) return undefined;
    using file = await Deno.open(os, { read: true });
    await file.seek(loc.offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(loc.length);
    let got = 0;
    while (got < buf.length) {
      const n = await file.read(buf.subarray(got));
      if (n === null) return undefined;
      got += n;
    }
    return sameBytes(blake3(buf), expectedHash) ? buf : undefined;
  } catch (err) {
    log.debug("Cannot reuse chunk at {path}@{offset}: {error}", {
      path: loc.path,
      offset: loc.offset,
      error: String(err),
    });
    return undefined;
  }
}

/**
 * The bytes of the chunk (`hash`, `length`) from the first place on local
 * disk that still holds it, or undefined (fetch it from a peer).
 */
export function findLocalChunk(
  folder: string,
  index: LocalChunkIndex,
  hash: Uint8Array,
  length: number,
): Promise<Uint8Array | undefined> {
  return readFirstVerified(folder, index.find(hash, length), hash);
}

/** The bytes of the first of `places` that still holds the chunk `hash`. */
export async function readFirstVerified(
  folder: string,
  places: readonly ChunkLocation[],
  hash: Uint8Array,
): Promise<Uint8Array | undefined> {
  for (const loc of places) {
    const bytes = await readChunkVerified(folder, loc, hash);
    if (bytes !== undefined) return bytes;
  }
  return undefined;
}
