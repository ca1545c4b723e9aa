/**
 * The big files this device is receiving right now, and which of their
 * chunks are written in full to their `.part`: what it may announce
 * (`Availability`) and serve to peers pulling the same version. A chunk
 * counts only once its write completed; it is served only when a request
 * names it exactly (offset, length, hash of that version) and the bytes
 * read back from the `.part` still hash right.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { blake3, sameBytes } from "../../index/mod.ts";
import {
  type Availability,
  MAX_AVAILABILITY_RANGES,
} from "../../protocol/mod.ts";
import { rangesOf } from "./chunk_ranges.ts";

const log = getLogger(["dsync", "sync", "swarm"]);

/** A chunk of the version being pulled. */
export interface PartialChunk {
  readonly offset: number;
  readonly length: number;
  readonly hash: Uint8Array;
}

/** The version being pulled. */
export interface PartialTarget {
  readonly path: string;
  /** File hash of the version. */
  readonly hash: Uint8Array;
  /** Its chunks in order (offsets increasing). */
  readonly chunks: readonly PartialChunk[];
}

/** One pull in progress. */
export class PartialFile {
  readonly target: PartialTarget;
  /** OS path of the `.part`. */
  readonly partPath: string;
  /** One byte per chunk: 1 once written in full. */
  readonly #held: Uint8Array;
  #count = 0;
  /** Whether an `Availability` of it went out (so its end must too). */
  announced = false;

  constructor(target: PartialTarget, partPath: string) {
    this.target = target;
    this.partPath = partPath;
    this.#held = new Uint8Array(target.chunks.length);
  }

  /** Chunks written in full. */
  get heldCount(): number {
    return this.#count;
  }

  /**
   * The bytes `[offset, offset + length)` are written: every chunk lying
   * wholly inside is held. Returns how many chunks became held.
   */
  markWritten(offset: number, length: number): number {
    const chunks = this.target.chunks;
    let i = this.#firstAtOrAfter(offset);
    let added = 0;
    const end = offset + length;
    for (; i < chunks.length; i++) {
      const c = chunks[i]!;
      if (c.offset + c.length > end) break;
      if (this.#held[i] === 0) {
        this.#held[i] = 1;
        added++;
      }
    }
    this.#count += added;
    return added;
  }

  /** Whether chunk `index` is held. */
  holds(index: number): boolean {
    return this.#held[index] === 1;
  }

  /** The index of the chunk at exactly `offset`, or -1. */
  chunkAt(offset: number): number {
    const i = this.#firstAtOrAfter(offset);
    return this.target.chunks[i]?.offset === offset ? i : -1;
  }

  /** What to announce of it now. */
  availability(): Availability {
    return {
      type: "availability",
      path: this.target.path,
      hash: this.target.hash,
      ranges: rangesOf(this.#held, MAX_AVAILABILITY_RANGES),
    };
  }

  #firstAtOrAfter(offset: number): number {
    const chunks = this.target.chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What happened to a pull in progress. */
export type PartialEvent = "grew" | "ended";

/** Every pull in progress, by path. */
export class PartialFiles {
  readonly #byPath = new Map<string, PartialFile>();
  #listener: ((file: PartialFile, event: PartialEvent) => void) | undefined;

  /** Tells `listener` of chunks added and pulls ended (one listener). */
  listen(listener: (file: PartialFile, event: PartialEvent) => void): void {
    this.#listener = listener;
  }

  /** Pulls in progress. */
  all(): IterableIterator<PartialFile> {
    return this.#byPath.values();
  }

  /** A pull of `target` into `partPath` starts (ending any other of the path). */
  begin(target: PartialTarget, partPath: string): PartialFile {
    const old = this.#byPath.get(target.path);
    if (old !== undefined) this.end(old);
    const file = new PartialFile(target, partPath);
    this.#byPath.set(target.path, file);
    return file;
  }

  /** `[offset, offset + length)` of `file` is written. */
  wrote(file: PartialFile, offset: number, length: number): void {
    if (this.#byPath.get(file.target.path) !== file) return;
    if (file.markWritten(offset, length) > 0) this.#listener?.(file, "grew");
  }

  /** The pull of `file` ended (placed, failed or given up). */
  end(file: PartialFile): void {
    if (this.#byPath.get(file.target.path) !== file) return;
    this.#byPath.delete(file.target.path);
    this.#listener?.(file, "ended");
  }

  /**
   * The chunk at `offset` of `length` bytes hashing to `hash` of the file
   * being pulled to `path`, read from its `.part`, when it is held and
   * still hashes right; else undefined. Synchronous, like the responder's
   * other reads (a chunk is at most 256 KiB, mostly in the page cache).
   */
  read(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): Uint8Array | undefined {
    const file = this.#byPath.get(path);
    if (file === undefined) return undefined;
    const index = file.chunkAt(offset);
    if (index < 0 || !file.holds(index)) return undefined;
    const chunk = file.target.chunks[index]!;
    if (chunk.length !== length || !sameBytes(chunk.hash, hash)) {
      return undefined;
    }
    try {
      using f = Deno.openSync(file.partPath, { read: true });
      f.seekSync(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = f.readSync(buf.subarray(got));
        if (n === null) return undefined;
        got += n;
      }
      return sameBytes(blake3(buf), hash) ? buf : undefined;
    } catch (err) {
      // Renamed into place or removed meanwhile: the index serves it now.
      log.debug("Cannot serve {path}@{offset} from its .part: {error}", {
        path,
        offset,
        error: String(err),
      });
      return undefined;
    }
  }
}
