/**
 * Flushing a large `.part` to disk while it is still being written.
 *
 * The kernel keeps written data in the page cache and, with gigabytes of
 * RAM, starts writing it out only when asked. A `.part` fsynced only at its
 * commit therefore waits for all its bytes at once: on a disk that writes
 * ~300 MB/s, 1 GiB arriving in 5 s was followed by ~3 s of nothing but
 * fsync. Flushing every {@linkcode WRITEBACK_STEP} bytes in the background
 * overlaps that with the transfer, and the commit's fsync finds little left.
 *
 * `fdatasync` reports a write-back error once per open file (Linux keeps an
 * error sequence per file description), so an error seen by a background
 * flush would be invisible to the commit's fsync on the same handle. The
 * first such error is kept and rethrown by {@linkcode EarlyWriteback.settle}:
 * the commit fails instead of trusting data the disk lost.
 * @module
 */

/**
 * Bytes written between two background flushes of one file. Small enough
 * that a 16 MiB file is flushed while it arrives (with 16 MiB its only
 * flush came at its end: 1 GiB of text in 64 files took 8.9-9.6 s on
 * loopback, with 4 MiB 7.1-8.4 s), large enough that a GiB costs only
 * ~256 flushes.
 */
export const WRITEBACK_STEP = 4 * 1024 * 1024;

/** Decides when a file's written bytes are due for a background flush. */
export class WritebackPacer {
  readonly step: number;
  #unflushed = 0;
  #flushing = false;

  constructor(step = WRITEBACK_STEP) {
    if (!Number.isSafeInteger(step) || step <= 0) {
      throw new RangeError(
        `Writeback step must be a positive integer: ${step}`,
      );
    }
    this.step = step;
  }

  /**
   * Counts `bytes` more written; true when a flush should start now (the
   * caller then calls {@linkcode started} and, when it ends, {@linkcode ended}).
   */
  wrote(bytes: number): boolean {
    this.#unflushed += bytes;
    return !this.#flushing && this.#unflushed >= this.step;
  }

  /** A flush started: it covers everything written so far. */
  started(): void {
    this.#flushing = true;
    this.#unflushed = 0;
  }

  /** The flush ended (either way). */
  ended(): void {
    this.#flushing = false;
  }
}

/** The handle's flushing capability; `Deno.FsFile` has it. */
export interface SyncableFile {
  syncData(): Promise<void>;
}

/** Background `fdatasync` of one file every {@linkcode WRITEBACK_STEP} bytes. */
export class EarlyWriteback {
  readonly #file: SyncableFile;
  readonly #pacer: WritebackPacer;
  #running: Promise<void> | undefined;
  /** The first error a flush met. */
  #failure: { error: unknown } | undefined;

  constructor(file: SyncableFile, step = WRITEBACK_STEP) {
    this.#file = file;
    this.#pacer = new WritebackPacer(step);
  }

  /** Counts `bytes` written; may start a background flush. Never throws. */
  wrote(bytes: number): void {
    if (!this.#pacer.wrote(bytes)) return;
    this.#pacer.started();
    this.#running = this.#file.syncData().then(
      () => {},
      (error) => {
        this.#failure ??= { error };
      },
    ).finally(() => {
      this.#pacer.ended();
      this.#running = undefined;
    });
  }

  /**
   * Waits for a running flush; rethrows the first error a flush met (the
   * data may not be on disk, whatever a later fsync says).
   */
  async settle(): Promise<void> {
    await this.#running;
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Waits for a running flush, ignoring errors (the file is given up). */
  async drain(): Promise<void> {
    await this.#running;
  }
}
