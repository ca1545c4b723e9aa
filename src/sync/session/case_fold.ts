/**
 * On a case-insensitive disk two paths that differ only in case are one
 * entry: a peer's `README` would overwrite our `readme`. This table maps the
 * case fold of every live local path to the paths holding it, kept current
 * from the index's sequence order, so such a twin is found before it is
 * written.
 * @module
 */

import { caseFoldKey } from "../../protocol/mod.ts";
import type { LocalPathRow } from "../../index/mod.ts";

/** Where the table reads the local index from. */
export interface LocalPathSource {
  localSince(sequence: number, limit: number): LocalPathRow[];
}

const PAGE = 5000;

/** Live local paths by case fold. */
export class CaseFoldIndex {
  readonly #source: LocalPathSource;
  readonly #byFold = new Map<string, Set<string>>();
  #sequence = 0;

  constructor(source: LocalPathSource) {
    this.#source = source;
  }

  /** A live local path other than `path` with the same case fold, if any. */
  twin(path: string): string | undefined {
    this.#refresh();
    const paths = this.#byFold.get(caseFoldKey(path));
    if (paths === undefined) return undefined;
    for (const p of paths) if (p !== path) return p;
    return undefined;
  }

  #refresh(): void {
    for (;;) {
      const rows = this.#source.localSince(this.#sequence, PAGE);
      for (const row of rows) {
        const key = caseFoldKey(row.path);
        let paths = this.#byFold.get(key);
        if (row.deleted) {
          paths?.delete(row.path);
          if (paths?.size === 0) this.#byFold.delete(key);
        } else {
          if (paths === undefined) this.#byFold.set(key, paths = new Set());
          paths.add(row.path);
        }
        this.#sequence = row.sequence;
      }
      if (rows.length < PAGE) return;
    }
  }
}
