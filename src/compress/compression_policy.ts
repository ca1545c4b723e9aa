/**
 * Which chunks are worth trying to compress. Trying costs little on random
 * data (the compressor gives up early) but not nothing: on 1 GiB of random
 * files it was ~4% of the sender's main thread. A file whose chunks did not
 * shrink is mostly already compressed (media, archives), so after each miss
 * the next chunks of that file are sent without trying, twice as many after
 * every further miss (up to `MAX_SKIP`); one chunk that shrinks resets the
 * file. Compressible regions after incompressible ones are still found,
 * at most `MAX_SKIP` chunks late.
 * @module
 */

/** Chunks sent untried at most between two tries on one file. */
export const MAX_SKIP = 64;
/** Files remembered at most; the oldest are forgotten first. */
const MAX_FILES = 256;

interface FileState {
  /** Chunks still to send without trying. */
  skip: number;
  /** What `skip` is set to after the next miss. */
  nextSkip: number;
}

/** Per-file memory of whether compression pays. */
export class CompressionPolicy {
  readonly #files = new Map<string, FileState>();

  /** Whether to try compressing the next chunk of `path`. */
  shouldTry(path: string): boolean {
    const state = this.#files.get(path);
    if (state === undefined || state.skip === 0) return true;
    state.skip--;
    return false;
  }

  /** Records the outcome of a try on a chunk of `path`. */
  record(path: string, shrank: boolean): void {
    if (shrank) {
      this.#files.delete(path);
      return;
    }
    let state = this.#files.get(path);
    if (state === undefined) {
      state = { skip: 0, nextSkip: 1 };
      this.#files.set(path, state);
      while (this.#files.size > MAX_FILES) {
        this.#files.delete(this.#files.keys().next().value as string);
      }
    }
    state.skip = state.nextSkip;
    state.nextSkip = Math.min(MAX_SKIP, state.nextSkip * 2);
  }
}
