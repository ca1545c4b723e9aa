/**
 * The sources of one file during its pull: looked up when the pull
 * starts, again every {@linkcode SOURCE_REFRESH_MS} (so a peer that
 * announces the file after its pull started takes its share of the
 * chunks) or when asked, and the sources this pull no longer asks.
 * @module
 */

import { chooseSource } from "../swarm/mod.ts";
import type { ChunkSource, PeerDirectory } from "./chunk_ports.ts";

/** A file's source list is looked up again after this long. */
export const SOURCE_REFRESH_MS = 1000;

/**
 * A peer still receiving the file that has not answered a chunk request
 * in this long is given up on for that pull, so a peer announcing chunks
 * it never serves cannot stall it.
 */
export const PARTIAL_REQUEST_TIMEOUT_MS = 10_000;

/** The sources of one file, and when they were looked up. */
export class FileSources {
  readonly #peers: PeerDirectory;
  readonly #path: string;
  readonly #hash: Uint8Array;
  readonly #now: () => number;
  #list: ChunkSource[] | undefined;
  #at: number | undefined;
  /** Partial holders whose claim failed during this pull: not asked again. */
  readonly distrusted = new Set<string>();
  /** Sources that stalled during this pull (`source_stalls.ts`): not asked again. */
  readonly stalled = new Set<string>();

  /** With `known`, the list as just looked up (with other files'). */
  constructor(
    peers: PeerDirectory,
    file: { readonly path: string; readonly hash: Uint8Array },
    now: () => number = Date.now,
    known?: ChunkSource[],
  ) {
    this.#peers = peers;
    this.#path = file.path;
    this.#hash = file.hash;
    this.#now = now;
    if (known !== undefined) {
      this.#list = known;
      this.#at = now();
    }
  }

  /** Forgets the list once it is old; true when the next read looks up. */
  refresh(): boolean {
    if (this.#at !== undefined && this.#now() - this.#at >= SOURCE_REFRESH_MS) {
      this.#list = undefined;
    }
    return this.#list === undefined;
  }

  /** The list, looked up when there is none; stalled sources left out. */
  list(): ChunkSource[] {
    if (this.#list === undefined) {
      this.#list = this.#peers.sourcesFor(this.#path, this.#hash);
      this.#at = this.#now();
    }
    const stalled = this.stalled;
    return stalled.size === 0
      ? this.#list
      : this.#list.filter((s) => !stalled.has(s.key));
  }

  /** The next read looks up again (a peer may have come since). */
  forget(): void {
    this.#list = undefined;
  }

  /**
   * The source to ask for chunk `index` (`chooseSource`: the least loaded
   * one not tried yet). The list is looked up when the file starts, again
   * every second, and again when every source in it has failed.
   */
  pick(index: number, tried: ReadonlySet<string>): ChunkSource | undefined {
    for (let fresh = this.refresh();; fresh = true) {
      const best = chooseSource(this.list(), index, {
        tried,
        distrusted: this.distrusted,
      });
      if (best !== undefined || fresh) return best;
      this.forget(); // a peer may have come since: look again once
    }
  }
}
