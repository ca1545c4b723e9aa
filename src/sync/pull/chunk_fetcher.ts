/**
 * The bytes of a peer's file, chunk by chunk: each chunk is copied from any
 * local file that holds it (read back and verified: this is how renames,
 * copies and moves cost no network) or else requested from the least
 * loaded connected peer that announced the same content, or that is
 * still receiving that version and announced the chunk (see
 * `../swarm/mod.ts`), another one on failure. Big files fill their `.part`
 * at the chunks' offsets, in an order of this receiver's own
 * (`../swarm/chunk_order.ts`), with a window of chunks fetched ahead
 * (chunks the part holds in place already, copied from the old version or
 * left by an interrupted pull, are kept first); small files are assembled
 * in memory.
 * @module
 */

import {
  blake3,
  type ChunkInfo,
  type FileRecord,
  sameBytes,
} from "../../index/mod.ts";
import {
  findLocalChunk,
  type LocalChunkIndex,
  readFirstVerified,
} from "./chunk_source.ts";
import { type BufferPool, receivedMessages } from "../../protocol/mod.ts";
import { ChunkWrites } from "./chunk_writes.ts";
import {
  canServe,
  chooseSource,
  ChunkOrder,
  rankSources,
} from "../swarm/mod.ts";

/** A connected peer that can serve chunks of a file. */
export interface ChunkSource {
  /** Stable key of the peer (for "already tried"). */
  readonly key: string;
  readonly open: boolean;
  /** Bytes requested and not yet answered: requests go to the least loaded. */
  readonly load: number;
  request(
    path: string,
    hash: Uint8Array,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array>;
  /**
   * Present on a peer still receiving the file (it announced part of it):
   * whether it holds chunk `index`. Absent: it holds the whole file.
   */
  holds?(index: number): boolean;
}

/** No connected peer can serve the content now. */
export class NoSourceError extends Error {
  constructor(path: string) {
    super(`No connected peer can serve "${path}" now`);
    this.name = "NoSourceError";
  }
}

/** Where a file's bytes go, at any offset (a `PartFile` fits). */
export interface ChunkSink {
  write(offset: number, data: Uint8Array): Promise<void>;
  /**
   * Leading bytes the sink may already hold (a resumed `.part`): chunks in
   * them are read back, and kept when they hash right.
   */
  readonly resumable?: number;
  readBack?(offset: number, length: number): Promise<Uint8Array | undefined>;
  /** Takes the bytes at `offset` as they are (checked, or in place). */
  keep?(offset: number, length: number): Promise<void>;
  /**
   * True when the sink holds the chunk at `offset` of `length` bytes
   * already, trusted without reading it (a part copied from the old
   * version of the file: see `PartFile.fromCopy`).
   */
  inPlace?(offset: number, length: number): boolean;
}

/** No source tried yet. */
const NONE: ReadonlySet<string> = new Set();

/** Fetched bytes waiting to be written at most, before more are asked for. */
const MAX_QUEUED_WRITES = 2 << 20;

/**
 * Most chunks of one file fetched ahead (in flight, or waiting to be
 * written), whatever their size. A window in bytes alone let a record of
 * 448K one-byte chunks from a peer that never answers put every one of
 * them in flight at once (issue #19 point 5).
 */
export const MAX_AHEAD_CHUNKS = 1024;

/** Most chunks of one small file fetched at once (see `assemble`). */
export const MAX_ASSEMBLE_CHUNKS = 64;

/** Who can give us a chunk: the engine's peers, as the pull room sees them. */
export interface PeerDirectory {
  /**
   * Connected peers that announced `path` with content `hash`, and those
   * still receiving that version that announced some of its chunks.
   */
  sourcesFor(path: string, hash: Uint8Array): ChunkSource[];
}

/** Options of {@linkcode ChunkFetcher}. */
export interface ChunkFetcherOptions {
  readonly folder: string;
  readonly chunkIndex: LocalChunkIndex;
  /** Connected peers, asked for the sources of each file. */
  readonly peers: PeerDirectory;
  /** Clock for refreshing the source list (ms); defaults to `Date.now`. */
  readonly now?: () => number;
  /** Deadline of a request to a partial holder (default `PARTIAL_REQUEST_TIMEOUT_MS`). */
  readonly partialTimeoutMs?: number;
  /**
   * Seeds this receiver's chunk orders (`../swarm/chunk_order.ts`);
   * random by default, so receivers starting together differ.
   */
  readonly orderSeed?: number;
  /**
   * Where chunk data received from peers was assembled (default: the
   * process's `receivedMessages`): a chunk's buffer is given back once its
   * bytes are written.
   */
  readonly messageBuffers?: BufferPool;
}

/** The sources of one file, and when they were looked up. */
interface SourceCache {
  list?: ChunkSource[] | undefined;
  at?: number;
  /** Partial holders whose claim failed during this pull: not asked again. */
  readonly distrusted: Set<string>;
}

/**
 * A file's source list is looked up again after this long, so a peer that
 * announces the file after its pull started takes its share of the chunks.
 */
export const SOURCE_REFRESH_MS = 1000;

/**
 * A peer still receiving the file that has not answered a chunk request
 * in this long is given up on for that pull, so a peer announcing chunks
 * it never serves cannot stall it.
 */
export const PARTIAL_REQUEST_TIMEOUT_MS = 10_000;

/** Gets the chunks of files from local disk or peers. */
export class ChunkFetcher {
  readonly #o: ChunkFetcherOptions;
  /** Chunk bytes fetched from peers (verified, uncompressed). */
  fetchedBytes = 0;
  /** Chunk bytes copied from local files instead. */
  reusedBytes = 0;
  /** Chunk bytes found already in place in resumed `.part` files. */
  resumedBytes = 0;
  /** Chunk bytes in place in parts copied from the old version. */
  inPlaceBytes = 0;

  readonly #seed: number;

  constructor(options: ChunkFetcherOptions) {
    this.#o = options;
    this.#seed = options.orderSeed ??
      crypto.getRandomValues(new Uint32Array(1))[0]!;
  }

  /**
   * Writes every chunk of `record` into `sink`: first the chunks the sink
   * holds already (in place, or in a resumed `.part`), then the others,
   * fetched with up to `windowBytes` asked for and not yet answered. Which
   * chunk next: the least loaded source that can serve a needed chunk is
   * offered the next one of its lane (`../swarm/chunk_order.ts`), so
   * receivers starting together ask for different chunks and a busy
   * complete holder leaves to partial holders what they have. Chunks are
   * written at their offsets in blocks (`chunk_writes.ts`), at most 2 MiB
   * waiting. `progress` is told of the bytes of each write or keep.
   */
  async fill(
    record: FileRecord,
    sink: ChunkSink,
    windowBytes: number,
    signal: AbortSignal,
    progress: (bytes: number) => void,
  ): Promise<void> {
    const chunks = record.chunks;
    const order = ChunkOrder.of(chunks, record.path, this.#seed);
    await this.#keepHeld(record, sink, order, signal, progress);
    if (order.finished) return;
    const sources: SourceCache = { distrusted: new Set() };
    const failed = new Map<number, Set<string>>();
    let lastError: Error | undefined;
    let ahead = 0; // bytes asked for and not yet answered
    let running = 0;
    let wake: (() => void) | undefined;
    const woken = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const buffers = this.#o.messageBuffers ?? receivedMessages;
    const writes = new ChunkWrites(sink, (bytes) => {
      progress(bytes);
      woken();
    }, (data) => buffers.give(data));
    signal.addEventListener("abort", woken, { once: true });
    try {
      while (!order.finished) {
        signal.throwIfAborted();
        if (writes.failure !== undefined) throw writes.failure;
        while (
          (running === 0 || ahead < windowBytes) &&
          running + writes.count < MAX_AHEAD_CHUNKS &&
          writes.queued < MAX_QUEUED_WRITES
        ) {
          const pick = this.#pickChunk(record, order, sources, failed, running);
          if (pick === undefined) break;
          const { index, source } = pick;
          const chunk = chunks[index]!;
          running++;
          ahead += chunk.length;
          this.#fetch(record, index, source).then((data) => {
            running--;
            ahead -= chunk.length;
            order.markDone(index);
            writes.add(chunk.offset, data);
            woken();
          }, (err) => {
            running--;
            ahead -= chunk.length;
            order.release(index);
            let tried = failed.get(index);
            if (tried === undefined) failed.set(index, tried = new Set());
            tried.add(source.key);
            if (source.holds !== undefined) sources.distrusted.add(source.key);
            lastError = err instanceof Error ? err : new Error(String(err));
            woken();
          });
        }
        if (order.finished) break;
        if (running === 0) {
          if (writes.count > 0) writes.flush();
          else throw lastError ?? new NoSourceError(record.path);
        }
        await new Promise<void>((resolve) => wake = resolve);
      }
      await writes.drain();
    } finally {
      signal.removeEventListener("abort", woken);
      // What was fetched is written even when the pull stops: a parked
      // `.part` resumes from it.
      await writes.drain().catch(() => {});
      await writes.close();
    }
  }

  /** Keeps the chunks `sink` holds in place, or that a resumed `.part` holds verified. */
  async #keepHeld(
    record: FileRecord,
    sink: ChunkSink,
    order: ChunkOrder,
    signal: AbortSignal,
    progress: (bytes: number) => void,
  ): Promise<void> {
    if (sink.keep === undefined) return;
    const resumable = sink.readBack === undefined ? 0 : sink.resumable ?? 0;
    for (let i = 0; i < record.chunks.length; i++) {
      const { offset, length, hash } = record.chunks[i]!;
      if (sink.inPlace?.(offset, length)) {
        this.inPlaceBytes += length;
      } else if (offset + length <= resumable) {
        signal.throwIfAborted();
        const bytes = await sink.readBack!(offset, length);
        if (bytes === undefined || !sameBytes(blake3(bytes), hash)) continue;
        this.resumedBytes += length;
      } else continue;
      await sink.keep(offset, length);
      progress(length);
      order.markDone(i);
    }
  }

  /**
   * The next chunk to ask for and whom to ask: the least loaded source
   * (`rankSources`) that can serve a needed chunk gets the next of its
   * lane. The source list is looked up when the file starts, again every
   * second, and again when no source can serve a needed chunk and no
   * request is in flight (a peer may have come since).
   */
  #pickChunk(
    record: FileRecord,
    order: ChunkOrder,
    cache: SourceCache,
    failed: ReadonlyMap<number, ReadonlySet<string>>,
    running: number,
  ): { index: number; source: ChunkSource } | undefined {
    if (order.needed === 0) return undefined;
    const now = this.#dropStaleSources(cache);
    for (let fresh = cache.list === undefined;; fresh = true) {
      const list = this.#sources(record, cache, now);
      const ranked = rankSources(list);
      const distrusted = cache.distrusted;
      const holders = (i: number) => {
        let n = 0;
        for (const s of ranked) {
          if (s.holds !== undefined && !distrusted.has(s.key) && s.holds(i)) {
            n++;
          }
        }
        return n;
      };
      for (const source of ranked) {
        const index = order.next(
          source.key,
          (i) =>
            canServe(source, i, { tried: failed.get(i) ?? NONE, distrusted }),
          holders,
        );
        if (index !== undefined) return { index, source };
      }
      if (fresh || running > 0) return undefined;
      cache.list = undefined;
    }
  }

  /** Chunk `index`: from local disk if a file holds it, else from `source`. */
  async #fetch(
    record: FileRecord,
    index: number,
    source: ChunkSource,
  ): Promise<Uint8Array> {
    const chunk = record.chunks[index]!;
    // Looked up synchronously: asked at once, the source's load counts
    // the request before the next chunk is placed.
    const places = this.#o.chunkIndex.find(chunk.hash, chunk.length);
    if (places.length > 0) {
      const local = await readFirstVerified(this.#o.folder, places, chunk.hash);
      if (local !== undefined) {
        this.reusedBytes += local.length;
        return local;
      }
    }
    return await this.#ask(source, record.path, chunk);
  }

  /**
   * Asks `source` for `chunk` of `path` and counts what came. No shared
   * signal: a listener on one shared signal per request costs O(n) each;
   * closing the peer sessions ends the requests in flight. A partial
   * holder gets a deadline of its own.
   */
  async #ask(
    source: ChunkSource,
    path: string,
    chunk: { hash: Uint8Array; offset: number; length: number },
  ): Promise<Uint8Array> {
    const data = await source.request(
      path,
      chunk.hash,
      chunk.offset,
      chunk.length,
      source.holds === undefined ? undefined : AbortSignal.timeout(
        this.#o.partialTimeoutMs ?? PARTIAL_REQUEST_TIMEOUT_MS,
      ),
    );
    this.fetchedBytes += data.length;
    return data;
  }

  /** The whole content of a (small) file, every chunk verified. */
  async assemble(
    record: FileRecord,
    signal: AbortSignal,
    progress: (bytes: number) => void,
  ): Promise<Uint8Array> {
    const chunks = record.chunks;
    const sources: SourceCache = { distrusted: new Set() };
    if (chunks.length === 1) {
      const data = await this.#chunk(record, 0, signal, sources);
      progress(data.length);
      return data;
    }
    // At most MAX_ASSEMBLE_CHUNKS at once: a 256 KiB file may list 256K
    // one-byte chunks, each a request and a promise.
    const out = new Uint8Array(record.size);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const index = next++;
        const data = await this.#chunk(record, index, signal, sources);
        out.set(data, chunks[index]!.offset);
        progress(data.length);
      }
    };
    const workers = Math.min(MAX_ASSEMBLE_CHUNKS, chunks.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return out;
  }

  /** One chunk: from local disk if any file holds it, else from a peer. */
  async #chunk(
    record: FileRecord,
    index: number,
    signal: AbortSignal,
    sources: SourceCache,
  ): Promise<Uint8Array> {
    const chunk: ChunkInfo = record.chunks[index]!;
    const local = await findLocalChunk(
      this.#o.folder,
      this.#o.chunkIndex,
      chunk.hash,
      chunk.length,
    );
    if (local !== undefined) {
      this.reusedBytes += local.length;
      return local;
    }
    const tried = new Set<string>();
    let lastError: Error | undefined;
    for (;;) {
      signal.throwIfAborted();
      const best = this.#pickSource(record, index, sources, tried);
      if (best === undefined) throw lastError ?? new NoSourceError(record.path);
      try {
        return await this.#ask(best, record.path, chunk);
      } catch (err) {
        signal.throwIfAborted();
        tried.add(best.key);
        if (best.holds !== undefined) sources.distrusted.add(best.key);
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  /** Forgets `cache`'s source list once it is old; returns the time now. */
  #dropStaleSources(cache: SourceCache): number {
    const now = (this.#o.now ?? Date.now)();
    if (cache.at !== undefined && now - cache.at >= SOURCE_REFRESH_MS) {
      cache.list = undefined;
    }
    return now;
  }

  /** `cache`'s source list of `record`, looked up (at `now`) when it has none. */
  #sources(record: FileRecord, cache: SourceCache, now: number): ChunkSource[] {
    if (cache.list === undefined) {
      cache.list = this.#o.peers.sourcesFor(record.path, record.hash);
      cache.at = now;
    }
    return cache.list;
  }

  /**
   * The source to ask for chunk `index` (`chooseSource`: the least loaded
   * one not tried yet). The list is looked up when the file starts, again
   * every second, and again when every source in it has failed.
   */
  #pickSource(
    record: FileRecord,
    index: number,
    cache: SourceCache,
    tried: ReadonlySet<string>,
  ): ChunkSource | undefined {
    const now = this.#dropStaleSources(cache);
    for (let fresh = cache.list === undefined;; fresh = true) {
      const list = this.#sources(record, cache, now);
      const best = chooseSource(list, index, {
        tried,
        distrusted: cache.distrusted,
      });
      if (best !== undefined || fresh) return best;
      cache.list = undefined; // a peer may have come since: look again once
    }
  }
}
