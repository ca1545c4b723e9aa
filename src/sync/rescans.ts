/**
 * Rescans the engine asks for besides the watcher's: the paths a scan
 * changed that peers have records of (planned again), and files that
 * changed while a peer was fetching them (rescanned soon, together).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { RemoteIndex } from "../index/mod.ts";

const log = getLogger(["dsync", "sync"]);

/**
 * The paths a scan changed (local sequences in `(from, to]`) that some
 * peer has a record of. A peer's record that needed no work against the
 * old local record may need some now: an edit a peer made concurrently
 * with the one we had (ours won, so it waited) must come back when we
 * delete ours, since an edit beats a concurrent delete. (The first full
 * scan needs none of this: the puller plans every path that differs from
 * a peer's once it ends.)
 */
export function pathsToReplan(
  remote: Pick<RemoteIndex, "localSince" | "recordsFor">,
  from: number,
  to: number,
): string[] {
  const paths: string[] = [];
  let after = from;
  for (let page = 0; page < 10_000 && after < to; page++) {
    const rows = remote.localSince(after, 1000);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row.sequence > to) break;
      if (remote.recordsFor(row.path).length > 0) paths.push(row.path);
    }
    after = rows[rows.length - 1]!.sequence;
  }
  return paths;
}

/**
 * Resolves once `puller` has nothing in progress, it is `closed`, or
 * `maxDelayMs` passed.
 */
export async function untilIdle(
  puller: { readonly idle: boolean; whenIdle(): Promise<void> },
  closed: () => boolean,
  maxDelayMs: number,
): Promise<void> {
  const deadline = Date.now() + maxDelayMs;
  while (!closed() && !puller.idle && Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      puller.whenIdle(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
  }
}

/** Files that changed while a peer fetched them, rescanned together soon. */
export class RescanSoon {
  readonly #scan: (paths: string[]) => Promise<unknown>;
  readonly #paths = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(scan: (paths: string[]) => Promise<unknown>) {
    this.#scan = scan;
  }

  /** `path` changed while a peer was fetching it: rescans it within 100 ms. */
  add(path: string): void {
    if (this.#closed) return;
    if (!this.#paths.has(path)) {
      log.info(
        "{path} changed while a peer was fetching it; rescanning it so peers get the new version",
        { path },
      );
    }
    this.#paths.add(path);
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const paths = [...this.#paths];
      this.#paths.clear();
      if (this.#closed) return;
      this.#scan(paths).catch((err) =>
        log.warn("Rescan of changed files failed: {error}", {
          error: String(err),
        })
      );
    }, 100);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
