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
 * left by an interrupted pull, are kept first; a changed chunk over old
 * bytes comes as a block delta, `block_fetch.ts`); small files are
 * assembled in memory.
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
import { canServe, ChunkOrder, rankSources } from "../swarm/mod.ts";
import {
  answeredWith,
  SourceStalls,
  StalledSourceError,
} from "./source_stalls.ts";
import { FileSources, PARTIAL_REQUEST_TIMEOUT_MS } from "./file_sources.ts";
import { BlockFetch } from "./block_fetch.ts";
import {
  type ChunkSink,
  type ChunkSource,
  NoSourceError,
  type PeerDirectory,
} from "./chunk_ports.ts";

export type { ChunkSink, ChunkSource, PeerDirectory } from "./chunk_ports.ts";
export { NoSourceError } from "./chunk_ports.ts";

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
  /**
   * Who stopped answering (`source_stalls.ts`); one of its own by
   * default.
   */
  readonly stalls?: SourceStalls;
}

export { SOURCE_REFRESH_MS } from "./file_sources.ts";

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
  readonly #stalls: SourceStalls;
  readonly #blocks: BlockFetch;

  constructor(options: ChunkFetcherOptions) {
    this.#o = options;
    this.#stalls = options.stalls ?? new SourceStalls();
    this.#blocks = new BlockFetch(this.#stalls, this);
    this.#seed = options.orderSeed ??
      crypto.getRandomValues(new Uint32Array(1))[0]!;
  }

  /**
   * Writes every chunk of `record` into `sink`: first the chunks the sink
   * holds already (in place, or in a resumed `.part`), then the others,
   * with up to `windowBytes` asked for and not yet answered, the next one
   * offered to the least loaded source that can serve it, from its lane
   * (`../swarm/chunk_order.ts`: receivers starting together ask for
   * different chunks, a busy complete holder leaves partial holders what
   * they have). Written at their offsets in blocks (`chunk_writes.ts`),
   * at most 2 MiB waiting. `progress` is told of each write or keep.
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
    const sources = this.#sourcesOf(record);
    const failed = new Map<number, Set<string>>();
    let lastError: Error | undefined;
    let ahead = 0; // bytes asked for and not yet answered
    let running = 0;
    // Chunks asked for, by index: a stalled source's are given up on (and
    // their late answers dropped), so other sources can take them.
    const asked = new Map<number, { readonly key: string }>();
    const watched = new Map<string, () => void>();
    const stalledNow: ChunkSource[] = [];
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
        for (
          let s = stalledNow.shift();
          s !== undefined;
          s = stalledNow.shift()
        ) {
          // Its chunks go back to the others (or the pull ends below).
          sources.stalled.add(s.key);
          lastError = new StalledSourceError(record.path, s.label ?? s.key);
          for (const [index, ask] of asked) {
            if (ask.key !== s.key) continue; // lists are looked up anew
            asked.delete(index);
            running--;
            ahead -= chunks[index]!.length;
            order.release(index);
          }
        }
        while (
          (running === 0 || ahead < windowBytes) &&
          running + writes.count < MAX_AHEAD_CHUNKS &&
          writes.queued < MAX_QUEUED_WRITES
        ) {
          const pick = this.#pickChunk(order, sources, failed, running);
          if (pick === undefined) break;
          const { index, source } = pick;
          const chunk = chunks[index]!;
          running++;
          ahead += chunk.length;
          const ask = { key: source.key };
          asked.set(index, ask);
          if (!watched.has(source.key)) {
            watched.set(
              source.key,
              this.#stalls.onStall(source.key, () => {
                stalledNow.push(source);
                woken();
              }),
            );
          }
          this.#fetch(record, index, source, sink).then((data) => {
            if (asked.get(index) !== ask) { // its source stalled: given up on
              buffers.give(data);
              return;
            }
            asked.delete(index);
            running--;
            ahead -= chunk.length;
            order.markDone(index);
            writes.add(chunk.offset, data);
            woken();
          }, (err) => {
            if (asked.get(index) !== ask) return;
            asked.delete(index);
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
      for (const off of watched.values()) off();
      signal.removeEventListener("abort", woken);
      // What was fetched is written even when the pull stops: a parked
      // `.part` resumes from it.
      await writes.drain().catch(() => {});
      await writes.close();
    }
  }

  /**
   * A source of `file` when every source of it has stalled: its pull would
   * ask no one else, so it waits without reading its chunk list.
   */
  stalledSource(
    file: { readonly path: string; readonly hash: Uint8Array },
  ): ChunkSource | undefined {
    return this.#stalls.allStalled(
      this.#o.peers.sourcesFor(file.path, file.hash),
    );
  }

  #sourcesOf(record: FileRecord, known?: ChunkSource[]): FileSources {
    return new FileSources(this.#o.peers, record, this.#o.now, known);
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
    order: ChunkOrder,
    cache: FileSources,
    failed: ReadonlyMap<number, ReadonlySet<string>>,
    running: number,
  ): { index: number; source: ChunkSource } | undefined {
    if (order.needed === 0) return undefined;
    for (let fresh = cache.refresh();; fresh = true) {
      const ranked = rankSources(cache.list());
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
      cache.forget();
    }
  }

  /** Chunk `index`: from local disk if a file holds it, else from `source` (as blocks if it can). */
  async #fetch(
    record: FileRecord,
    index: number,
    source: ChunkSource,
    sink: ChunkSink,
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
    const whole = () => this.#ask(source, record.path, chunk);
    return await this.#blocks.fetch(source, record.path, chunk, sink, whole);
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
    const stalls = this.#stalls;
    stalls.sent(source.key, source.label);
    let data: Uint8Array;
    try {
      data = await source.request(
        path,
        chunk.hash,
        chunk.offset,
        chunk.length,
        source.holds === undefined ? undefined : AbortSignal.timeout(
          this.#o.partialTimeoutMs ?? PARTIAL_REQUEST_TIMEOUT_MS,
        ),
      );
    } catch (err) {
      // An answer that refuses (or fails its hash) is still an answer.
      if (answeredWith(err)) stalls.answered(source.key);
      else stalls.dropped(source.key);
      throw err;
    }
    stalls.answered(source.key);
    this.fetchedBytes += data.length;
    return data;
  }

  /**
   * {@linkcode #ask}, given up on once `source` stalls: the caller then
   * tries another source.
   */
  async #askUnlessStalled(
    source: ChunkSource,
    path: string,
    chunk: { hash: Uint8Array; offset: number; length: number },
  ): Promise<Uint8Array> {
    let off!: () => void;
    const stalled = new Promise<never>((_, reject) => {
      off = this.#stalls.onStall(
        source.key,
        () => reject(new StalledSourceError(path, source.label ?? source.key)),
      );
    });
    stalled.catch(() => {});
    try {
      return await Promise.race([this.#ask(source, path, chunk), stalled]);
    } finally {
      off();
    }
  }

  /** A (small) file's content, each chunk verified; `known`: its sources if looked up. */
  async assemble(
    record: FileRecord,
    signal: AbortSignal,
    progress: (bytes: number) => void,
    known?: ChunkSource[],
  ): Promise<Uint8Array> {
    const chunks = record.chunks;
    const sources = this.#sourcesOf(record, known);
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
    sources: FileSources,
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
      const best = sources.pick(index, tried);
      if (best === undefined) throw lastError ?? new NoSourceError(record.path);
      try {
        return await this.#askUnlessStalled(best, record.path, chunk);
      } catch (err) {
        signal.throwIfAborted();
        tried.add(best.key);
        if (best.holds !== undefined) sources.distrusted.add(best.key);
        if (err instanceof StalledSourceError) sources.stalled.add(best.key);
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }
}
