/**
 * Names of dsync's `.part` files: `.<name>.dsync-<16 hex>.part`, beside the
 * target, the target's name cut so the whole fits in 255 bytes. The index
 * ignores `*.part`; `pull/part_cleanup.ts` finds leftovers by this pattern.
 * @module
 */

import { toHex } from "../../index/mod.ts";
import { truncateUtf8 } from "../../protocol/mod.ts";

/** Largest name the `.part` keeps of its target's, so the whole name fits in 255 bytes. */
const PART_NAME_ROOM = 255 - ".".length - ".dsync-".length - 16 -
  ".part".length;
/** Matches the names of the `.part` files dsync creates. */
export const PART_FILE_PATTERN: RegExp = /^\..*\.dsync-[0-9a-f]{16}\.part$/s;

/**
 * The target name a `.part` named `partFile` was made for, or undefined when
 * it is no dsync `.part` or its target's name was cut to fit.
 */
export function partTargetName(partFile: string): string | undefined {
  if (!PART_FILE_PATTERN.test(partFile)) return undefined;
  const name = partFile.slice(1, -(".dsync-".length + 16 + ".part".length));
  if (name === "" || new TextEncoder().encode(name).length >= PART_NAME_ROOM) {
    return undefined;
  }
  return name;
}

/** Random bytes drawn at once for many tags. */
const TAG_POOL_BYTES = 4096;
let tagPool = new Uint8Array(0);
let tagAt = 0;

/**
 * 16 random hex digits. From a pool of random bytes refilled every 512
 * tags: a `getRandomValues` call per `.part` was most of `partName`'s
 * 0.7 s of a receiver's main thread for 100,000 small files.
 */
function randomTag(): string {
  if (tagAt + 8 > tagPool.length) {
    tagPool = crypto.getRandomValues(new Uint8Array(TAG_POOL_BYTES));
    tagAt = 0;
  }
  const tag = toHex(tagPool.subarray(tagAt, tagAt + 8));
  tagAt += 8;
  return tag;
}

/** The `.part` name for a target named `name`, with a random 16-hex tag. */
export function partName(name: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short names need no cut.
  const kept = name.length * 3 <= PART_NAME_ROOM
    ? name
    : truncateUtf8(name, PART_NAME_ROOM);
  return `.${kept}.dsync-${randomTag()}.part`;
}
