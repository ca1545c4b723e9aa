/**
 * One big file digested by several workers at once (issue #21, "Deltas":
 * 1 MiB changed in a 256 MiB file is re-hashed whole, ~0.6-0.9 s on one
 * core here, most of the sender's share of the change).
 *
 * Each worker cuts its part of the file as if the file started there
 * (`digestFilePart`), reading a little past the part's end (2 MiB, ~27
 * average chunks; parts of random data meet within a chunk or two). FastCDC's
 * state after a cut is its starting state, so two chunkers that cut at the
 * same offset cut alike from there on: the parts are joined at the first
 * cut a part and the next one share, and the next part's chunks after it
 * are exactly those a single pass would give. Where no shared cut shows up
 * within the overlap (a long run of one byte value, cut only at the
 * maximum chunk length from wherever each chunker started), the join
 * fails and the caller digests the file in one pass.
 * @module
 */

import type { DigestPart, PackedDigest } from "./file_digest.ts";
import { BLAKE3_LEN, fileHashOf } from "./hash.ts";

/** Files from this size on are digested in parts (when there are workers to share them). */
export const SPLIT_FROM: number = 64 << 20;
/** Bytes a part is read past its end, to meet the next part's cuts. */
export const PART_OVERLAP: number = 2 << 20;

/** Where the parts of a file of `size` bytes start, for `count` workers. */
export function partStarts(size: number, count: number): number[] {
  const starts: number[] = [];
  for (let k = 0; k < count; k++) starts.push(Math.floor((k * size) / count));
  return starts;
}

/**
 * The digest of the whole file from its parts (in file order, the first at
 * 0, the last read to the end), or undefined when a part shares no cut
 * with the next one.
 */
export function joinDigestParts(
  parts: readonly DigestPart[],
): PackedDigest | undefined {
  const first = parts[0];
  if (first === undefined || first.from !== 0 || !parts.at(-1)!.eof) {
    return undefined;
  }
  const lengths: number[] = [];
  const picks: { part: DigestPart; index: number }[] = [];
  let cur = first;
  let index = 0;
  let pos = 0;
  for (let k = 1; k < parts.length; k++) {
    const next = parts[k]!;
    // Chunk index in `next` of the chunk after each of its cuts.
    const after = new Map<number, number>([[next.from, 0]]);
    for (let i = 0, end = next.from; i < next.lengths.length; i++) {
      end += next.lengths[i]!;
      after.set(end, i + 1);
    }
    for (;;) {
      if (pos >= next.from && after.has(pos)) {
        cur = next;
        index = after.get(pos)!;
        break;
      }
      if (index >= cur.lengths.length) return undefined;
      lengths.push(cur.lengths[index]!);
      picks.push({ part: cur, index });
      pos += cur.lengths[index]!;
      index++;
    }
  }
  for (; index < cur.lengths.length; index++) {
    lengths.push(cur.lengths[index]!);
    picks.push({ part: cur, index });
    pos += cur.lengths[index]!;
  }
  const last = parts.at(-1)!;
  if (pos !== last.from + last.bytes) return undefined;
  const hashes = new Uint8Array(picks.length * BLAKE3_LEN);
  for (let i = 0; i < picks.length; i++) {
    const { part, index } = picks[i]!;
    hashes.set(
      part.hashes.subarray(index * BLAKE3_LEN, (index + 1) * BLAKE3_LEN),
      i * BLAKE3_LEN,
    );
  }
  return {
    size: pos,
    hash: fileHashOf(hashes) as Uint8Array<ArrayBuffer>,
    lengths: Uint32Array.from(lengths),
    hashes,
  };
}
