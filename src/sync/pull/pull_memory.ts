/**
 * How much memory the chunk lists of big pulls may hold at once. A pull
 * holds its file's list while it runs: 36 bytes a chunk packed, 8 for its
 * offset (`../../index/chunk_list.ts`). At the 448K-chunk cap that is
 * 20 MB a pull, so four slots of records a peer never serves held 80 MB
 * (issue #19 point 5; measured: glibc's heap then kept 200 MiB resident,
 * the freed lists' space included). An honest file needs a list this long
 * only past ~20 GiB (64 KiB average chunks): a 1 GiB file's list is 0.7 MB,
 * so honest pulls never wait for this budget. Pure.
 * @module
 */

/** Bytes a pull holds per chunk of its list (packed entry and offset). */
export const LIST_BYTES_PER_CHUNK = 36 + 8;

/**
 * List memory of the big pulls in flight at most: one pull at the chunk
 * cap (20 MB) at a time, any number of honest ones.
 */
export const PULL_LIST_BUDGET_BYTES = 24 << 20;

/** Bytes the list of a file of `chunks` chunks holds while it is pulled. */
export function listBytesOf(chunks: number): number {
  return chunks * LIST_BYTES_PER_CHUNK;
}

/**
 * Whether a pull whose list holds `listBytes` may start while pulls
 * holding `inFlightBytes` run: within the budget, or nothing else holds
 * any (so a single list over the budget still runs, alone).
 */
export function fitsListBudget(
  inFlightBytes: number,
  listBytes: number,
  budget = PULL_LIST_BUDGET_BYTES,
): boolean {
  return inFlightBytes === 0 || inFlightBytes + listBytes <= budget;
}
