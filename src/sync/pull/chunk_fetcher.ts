/**
 * The bytes of a peer's file, chunk by chunk: each chunk is copied from any
 * local file that holds it (read back and verified: this is how renames,
 * copies and moves cost no network) or else requested from the least
 * loaded connected peer that announced the same content, or that is
 * still receiving that version and announced the chunk (see
 * `../swarm/mod.ts`), another one on failure. Big files stream into their
 * `.part` in order with a window of chunks fetched ahead (chunks the part
 * holds in place already, copied from the old version, are skipped); small
 * files are assembled in memory.
 * @module
 */

import {
  blake3,
  type ChunkInfo,
  type FileRecord,
  sameBytes,
} from "../../index/mod.ts";
import { type BufferPool, receivedMessages } from "../../protocol/mod.ts";
import { findLocalChunk, type LocalChunkIndex } from "./chunk_source.ts";
import { chooseSource } from "../swarm/mod.ts";

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

/** The data of a chunk the sink holds in place (its length is the chunk's). */
const NOTHING = new Uint8Array(0);

/** A chunk's bytes, and whether the sink already holds them. */
interface Got {
  readonly data: Uint8Array;
  readonly kept: boolean;
}

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
   * Where chunk data received from peers was assembled (default: the
   * process's `receivedMessages`): a chunk's buffer is given back once its
   * bytes are copied into the write block.
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

/** Bytes written to a sink at once. */
const WRITE_BLOCK = 1 << 20;

/**
 * Most chunks of one file fetched ahead, whatever their size. A window in
 * bytes alone let a record of 448K one-byte chunks from a peer that never
 * answers put every one of them in flight at once (issue #19 point 5).
 */
export const MAX_AHEAD_CHUNKS = 1024;

/** Most chunks of one small file fetched at once (see `assemble`). */
export const MAX_ASSEMBLE_CHUNKS = 64;

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

  constructor(options: ChunkFetcherOptions) {
    this.#o = options;
  }

  /**
   * Writes every chunk of `record` into `sink`, in order, with up to
   * `windowBytes` of chunks being fetched ahead. Consecutive chunks are
   * written in blocks of up to 2 MiB: every write is a round trip through
   * the runtime's I/O threads, which a busy event loop makes slow.
   * `progress` is told of each block written.
   */
  async fill(
    record: FileRecord,
    sink: ChunkSink,
    windowBytes: number,
    signal: AbortSignal,
    progress: (bytes: number) => void,
  ): Promise<void> {
    const chunks = record.chunks;
    const sources: SourceCache = { distrusted: new Set() };
    const buffers = this.#o.messageBuffers ?? receivedMessages;
    const ahead: Promise<Got>[] = [];
    let aheadBytes = 0;
    let next = 0;
    const block = new Uint8Array(Math.min(WRITE_BLOCK, record.size));
    let blockStart = 0;
    let blockFill = 0;
    const flush = async () => {
      if (blockFill === 0) return;
      await sink.write(blockStart, block.subarray(0, blockFill));
      progress(blockFill);
      blockStart += blockFill;
      blockFill = 0;
    };
    for (let i = 0; i < chunks.length; i++) {
      while (
        next < chunks.length &&
        (next === i || (aheadBytes + chunks[next]!.length <= windowBytes &&
          next - i < MAX_AHEAD_CHUNKS))
      ) {
        const fetch = this.#chunkFor(
          sink,
          record,
          next,
          signal,
          sources,
        );
        fetch.catch(() => {}); // awaited in order below
        ahead.push(fetch);
        aheadBytes += chunks[next]!.length;
        next++;
      }
      const { data, kept } = await ahead.shift()!;
      aheadBytes -= chunks[i]!.length;
      signal.throwIfAborted();
      if (kept) {
        await flush();
        await sink.keep!(chunks[i]!.offset, chunks[i]!.length);
        progress(chunks[i]!.length);
        blockStart += chunks[i]!.length;
        continue;
      }
      if (blockFill + data.length > block.length) await flush();
      if (data.length > block.length) {
        await sink.write(chunks[i]!.offset, data);
        progress(data.length);
        blockStart += data.length;
        continue;
      }
      block.set(data, blockFill);
      blockFill += data.length;
      // Copied: nothing holds the received message any more.
      buffers.give(data);
    }
    await flush();
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

  /** One chunk: from the sink if it holds it already, else as `#chunk`. */
  async #chunkFor(
    sink: ChunkSink,
    record: FileRecord,
    index: number,
    signal: AbortSignal,
    sources: SourceCache,
  ): Promise<Got> {
    const chunk = record.chunks[index]!;
    if (sink.keep !== undefined && sink.inPlace?.(chunk.offset, chunk.length)) {
      this.inPlaceBytes += chunk.length;
      return { data: NOTHING, kept: true };
    }
    if (
      sink.readBack !== undefined && sink.keep !== undefined &&
      chunk.offset + chunk.length <= (sink.resumable ?? 0)
    ) {
      const bytes = await sink.readBack(chunk.offset, chunk.length);
      if (bytes !== undefined && sameBytes(blake3(bytes), chunk.hash)) {
        this.resumedBytes += bytes.length;
        return { data: bytes, kept: true };
      }
    }
    return {
      data: await this.#chunk(record, index, signal, sources),
      kept: false,
    };
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
        // No shared signal here: a listener on one shared signal per
        // request costs O(n) each; closing the peer sessions ends the
        // requests in flight. A partial holder gets a deadline of its own.
        const data = await best.request(
          record.path,
          chunk.hash,
          chunk.offset,
          chunk.length,
          best.holds === undefined ? undefined : AbortSignal.timeout(
            this.#o.partialTimeoutMs ?? PARTIAL_REQUEST_TIMEOUT_MS,
          ),
        );
        this.fetchedBytes += data.length;
        return data;
      } catch (err) {
        signal.throwIfAborted();
        tried.add(best.key);
        if (best.holds !== undefined) sources.distrusted.add(best.key);
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
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
    const now = (this.#o.now ?? Date.now)();
    if (cache.at !== undefined && now - cache.at >= SOURCE_REFRESH_MS) {
      cache.list = undefined;
    }
    for (let fresh = cache.list === undefined;; fresh = true) {
      if (cache.list === undefined) {
        cache.list = this.#o.peers.sourcesFor(record.path, record.hash);
        cache.at = now;
      }
      const best = chooseSource(cache.list, index, {
        tried,
        distrusted: cache.distrusted,
      });
      if (best !== undefined || fresh) return best;
      cache.list = undefined; // a peer may have come since: look again once
    }
  }
}
