/**
 * File metadata as dsync applies it: the mtime value for `utime`, the
 * permission bits for the exec flag, and a stat that takes "nothing there"
 * for an answer.
 * @module
 */

/**
 * The mtime argument for `utime`: a `Date` when `ns` is whole milliseconds
 * (exact, and what the scanner records), else seconds as a number (about
 * 0.25 µs of rounding; the scanner then sees the ms it reads back).
 */
export function mtimeValue(ns: bigint): Date | number {
  if (ns % 1_000_000n === 0n) return new Date(Number(ns / 1_000_000n));
  return Number(ns) / 1e9;
}

/**
 * The permission bits for `exec`: execute where read is allowed, or no
 * execute at all. `mode` is a stat mode; only its low 12 bits are used.
 */
export function execMode(mode: number, exec: boolean): number {
  const perms = mode & 0o7777;
  return exec ? perms | ((perms & 0o444) >> 2) : perms & ~0o111;
}

/** `Deno.lstatSync(os)`, or undefined when nothing is there. */
export function lstatOrUndefined(os: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(os);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}
