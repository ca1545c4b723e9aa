/**
 * What a change costs at least when whole chunks are what crosses: the
 * bytes of the new version's chunks that the old version does not hold.
 * The delta workload's floor of the same kind as Syncthing's block
 * transfer (a tool that sends only changed bytes inside a chunk, as rsync
 * does, can go below it).
 * @module
 */
import { digestFile } from "../../src/index/file_digest.ts";

/** A chunk as far as this count cares: its length and its hash. */
export interface SizedChunk {
  readonly length: number;
  readonly hash: Uint8Array;
}

function key(hash: Uint8Array): string {
  let out = "";
  for (const byte of hash) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of `after`'s chunks whose hash is not among `before`'s (each counted once). */
export function changedChunkBytes(
  before: readonly SizedChunk[],
  after: readonly SizedChunk[],
): number {
  const held = new Set(before.map((c) => key(c.hash)));
  let bytes = 0;
  for (const chunk of after) {
    const k = key(chunk.hash);
    if (held.has(k)) continue;
    held.add(k);
    bytes += chunk.length;
  }
  return bytes;
}

/** {@linkcode changedChunkBytes} of a file before and after `change` ran on it. */
export async function changedChunkBytesOf(
  path: string,
  change: () => Promise<void>,
): Promise<number> {
  const before = (await digestFile(path)).chunks;
  await change();
  return changedChunkBytes(before, (await digestFile(path)).chunks);
}
