/**
 * Which of the next page of local records a peer holds already, in that
 * very version (mostly what we just pulled from it): those are not sent
 * back, and a page it holds whole need not even be read.
 * @module
 */

import type { RemoteIndexView } from "./session_options.ts";

/** What the peer holds of a page of local records (see `heldSince`). */
export type HeldPage =
  /** Every record; `last` is the page's last sequence, `full` if more may follow. */
  | { readonly kind: "all"; readonly last: number; readonly full: boolean }
  /** The records of these paths. */
  | { readonly kind: "some"; readonly paths: ReadonlySet<string> };

/**
 * Which records of the `page` after `cursor` the peer with `replica` holds
 * in that version. Undefined when that is unknown: the peer has not said
 * hello, or the remote index cannot tell.
 */
export function heldPage(
  remote: RemoteIndexView,
  replica: bigint | undefined,
  cursor: number,
  page: number,
): HeldPage | undefined {
  if (replica === undefined || remote.heldSince === undefined) {
    return undefined;
  }
  const marks = remote.heldSince(replica, cursor, page);
  if (marks.length > 0 && marks.every((m) => m.held)) {
    return {
      kind: "all",
      last: marks[marks.length - 1]!.sequence,
      full: marks.length === page,
    };
  }
  return {
    kind: "some",
    paths: new Set(marks.filter((m) => m.held).map((m) => m.path)),
  };
}
