/**
 * The files being pulled now (for status displays) and the count of files
 * put in place.
 * @module
 */

import type { Decision } from "../apply/mod.ts";

/** A file being pulled, for status displays. */
export interface Transfer {
  readonly path: string;
  bytesDone: number;
  readonly bytesTotal: number;
  /** Epoch ms. */
  readonly startedAt: number;
}

/** Files in flight, by path, and files placed so far. */
export class TransferBoard {
  readonly #transfers = new Map<string, Transfer>();
  #placed = 0;

  /** Files put in place so far. */
  get placed(): number {
    return this.#placed;
  }

  /** Starts showing the pull of `d` at `nowMs`; the caller adds to its `bytesDone`. */
  start(d: Decision, nowMs: number): Transfer {
    const transfer: Transfer = {
      path: d.path,
      bytesDone: 0,
      bytesTotal: d.remote.size,
      startedAt: nowMs,
    };
    this.#transfers.set(d.path, transfer);
    return transfer;
  }

  /** The pull of `path` ended (done or failed). */
  end(path: string): void {
    this.#transfers.delete(path);
  }

  /** `n` more files were put in place. */
  countPlaced(n: number): void {
    this.#placed += n;
  }

  /** Copies of the transfers in flight. */
  list(): Transfer[] {
    return [...this.#transfers.values()].map((t) => ({ ...t }));
  }
}
