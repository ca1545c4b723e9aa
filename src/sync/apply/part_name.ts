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

/** The `.part` name for a target named `name`, with a random 16-hex tag. */
export function partName(name: string): string {
  const tag = toHex(crypto.getRandomValues(new Uint8Array(8)));
  return `.${truncateUtf8(name, PART_NAME_ROOM)}.dsync-${tag}.part`;
}
