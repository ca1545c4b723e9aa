/**
 * The `.part` files this process is writing right now, by absolute path.
 * A scan that meets a dsync `.part` file nobody is writing and nothing
 * keeps for resuming (e.g. one that moved with a directory the user renamed
 * while a pull was writing into it) removes it: otherwise it would stay in
 * the user's folder for good, since the `.part` files of a folder are only
 * gathered at start. Process-wide because writers (`PartFile`, the small
 * file batch) are created far from the scan that asks.
 * @module
 */

const active = new Set<string>();

/** A `.part` at `os` is being written. */
export function registerPart(os: string): void {
  active.add(os);
}

/** The `.part` at `os` was renamed into place, removed or parked. */
export function releasePart(os: string): void {
  active.delete(os);
}

/** Whether a `.part` at `os` is being written by this process. */
export function isActivePart(os: string): boolean {
  return active.has(os);
}
