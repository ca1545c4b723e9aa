/**
 * What the chunk fetcher (`chunk_fetcher.ts`) works with: the peers that
 * can serve a file's chunks, and where the chunks go.
 * @module
 */

/** A connected peer that can serve chunks of a file. */
export interface ChunkSource {
  /** Stable key of the peer (for "already tried"). */
  readonly key: string;
  /** How logs name the peer (default: `key`). */
  readonly label?: string;
  readonly open: boolean;
  /** Bytes requested and not yet answered: requests go to the least loaded. */
  readonly load: number;
  /** Resolves only with bytes that hash to `hash` (callers rely on it). */
  request(
    path: string,
    hash: Uint8Array,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array>;
  /**
   * Present on a peer that answers block requests (its hello set
   * `blockDeltas`): the `base.length` bytes at `offset`, asked for as the
   * blocks that differ from `base` (our old bytes there) and verified
   * whole against `hash`; `BlockDeltaMismatchError` when they do not
   * assemble to it (then ask with `request`).
   */
  requestBlocks?(
    path: string,
    hash: Uint8Array,
    offset: number,
    base: Uint8Array,
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
  /**
   * Leading bytes of the old version the sink holds, in a part copied
   * from it (`PartFile.fromCopy`), read with `readBack`: where a chunk is
   * not in place, its old bytes at that offset may still share most blocks
   * with it (see `../delta/mod.ts`). 0 or absent: none.
   */
  readonly copiedBytes?: number;
}

/** Who can give us a chunk: the engine's peers, as the pull room sees them. */
export interface PeerDirectory {
  /**
   * Connected peers that announced `path` with content `hash`, and those
   * still receiving that version that announced some of its chunks.
   */
  sourcesFor(path: string, hash: Uint8Array): ChunkSource[];
  /**
   * `sourcesFor` of each of `files` (distinct paths), by path, looked up
   * together (for a group of small files).
   */
  sourcesForMany?(
    files: readonly { readonly path: string; readonly hash: Uint8Array }[],
  ): Map<string, ChunkSource[]>;
}
