/**
 * A big file's new chunk list as edits of a list the peer already holds
 * (issue #21, "Deltas"): 1 MiB overwritten inside a 256 MiB file changes
 * ~20 of its ~4,100 chunks, yet the whole list (~147 KB) went out with the
 * new record, more than a tenth of the 1.2 MB the change may cost on the
 * wire. Here: the edits (`diffChunkLists`), their application to the base
 * (`rebuildChunkList`), and the hash that proves the rebuilt list is the
 * sender's (`chunkListHash`), so a wrong base can never yield a wrong list.
 *
 * An edit keeps the next `keep` chunks of the base, skips `drop`, then
 * inserts `add` chunks of `added`; what follows the last edit is kept to
 * the end. Pure functions over plain chunk lists.
 * @module
 */

import {
  BLAKE3_LEN,
  Blake3Hasher,
  fileHashOfChunks,
  sameBytes,
} from "./hash.ts";

/** A chunk as a list holds it. */
export interface ListChunk {
  readonly length: number;
  readonly hash: Uint8Array;
}

/** One run of edits (see the module comment). */
export interface ChunkEdit {
  readonly keep: number;
  readonly drop: number;
  readonly add: number;
}

/** A list as edits of a base, with the chunks the edits insert. */
export interface ChunkListDiff {
  /** Empty when the lists are equal; else every edit after the first keeps 1 or more. */
  readonly edits: readonly ChunkEdit[];
  readonly added: readonly ListChunk[];
}

/** A diff that does not rebuild the list it claims (wrong base, hostile peer). */
export class ChunkDiffError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChunkDiffError";
  }
}

const LIST_HASH_PREFIX = new TextEncoder().encode("dsync/1 chunk list\n");
/** Chunk entries hashed per update (36 bytes each). */
const STAGE_CHUNKS = 2048;

/**
 * BLAKE3 of `"dsync/1 chunk list\n"` followed by each chunk's length
 * (unsigned 32-bit little-endian) and hash: unlike the file hash, it also
 * covers the lengths.
 */
export function chunkListHash(chunks: readonly ListChunk[]): Uint8Array {
  const hasher = new Blake3Hasher().update(LIST_HASH_PREFIX);
  const entry = 4 + BLAKE3_LEN;
  const stage = new Uint8Array(Math.min(chunks.length, STAGE_CHUNKS) * entry);
  const view = new DataView(stage.buffer);
  let fill = 0;
  for (const chunk of chunks) {
    view.setUint32(fill, chunk.length, true);
    stage.set(chunk.hash, fill + 4);
    fill += entry;
    if (fill === stage.length) {
      hasher.update(stage);
      fill = 0;
    }
  }
  if (fill > 0) hasher.update(stage.subarray(0, fill));
  return hasher.digest();
}

function sameChunk(a: ListChunk, b: ListChunk): boolean {
  return a.length === b.length && sameBytes(a.hash, b.hash);
}

/** A number from a hash's first 7 bytes: a map key (collisions are checked). */
function keyOf(hash: Uint8Array): number {
  return ((hash[0]! | hash[1]! << 8 | hash[2]! << 16) >>> 0) * 0x1_0000_0000 +
    ((hash[3]! | hash[4]! << 8 | hash[5]! << 16 | hash[6]! << 24) >>> 0);
}

/** Positions of each chunk of a list, for finding where a list resyncs. */
class Positions {
  readonly #list: readonly ListChunk[];
  readonly #at = new Map<number, number[]>();

  constructor(list: readonly ListChunk[]) {
    this.#list = list;
    for (let i = 0; i < list.length; i++) {
      const key = keyOf(list[i]!.hash);
      const at = this.#at.get(key);
      if (at === undefined) this.#at.set(key, [i]);
      else at.push(i);
    }
  }

  /** The first position from `from` on that holds `chunk`, or -1. */
  next(chunk: ListChunk, from: number): number {
    const at = this.#at.get(keyOf(chunk.hash));
    if (at === undefined) return -1;
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < at.length; k++) {
      if (sameChunk(this.#list[at[k]!]!, chunk)) return at[k]!;
    }
    return -1;
  }
}

/**
 * Edits that turn `base` into `next`: walks both lists, keeps what matches,
 * and at a difference inserts chunks of `next` until one is found again in
 * the rest of `base`, where an overwrite in place would put it first (the
 * base chunks skipped on the way are dropped). Any
 * result rebuilds `next` exactly; it is smallest for changes in place, the
 * case it is for (an insert or a shift costs the chunks around it).
 */
export function diffChunkLists(
  base: readonly ListChunk[],
  next: readonly ListChunk[],
): ChunkListDiff {
  const positions = new Positions(base);
  const edits: ChunkEdit[] = [];
  const added: ListChunk[] = [];
  let i = 0;
  let j = 0;
  let keep = 0;
  while (j < next.length) {
    if (i < base.length && sameChunk(base[i]!, next[j]!)) {
      i++;
      j++;
      keep++;
      continue;
    }
    let add = 0;
    let resync = -1;
    while (j < next.length) {
      // Where it would be after an overwrite in place, else anywhere after.
      const inPlace = i + add;
      resync = inPlace < base.length && sameChunk(base[inPlace]!, next[j]!)
        ? inPlace
        : positions.next(next[j]!, i);
      if (resync >= 0) break;
      added.push(next[j]!);
      add++;
      j++;
    }
    if (resync < 0) resync = base.length;
    edits.push({ keep, drop: resync - i, add });
    keep = 0;
    i = resync;
  }
  if (i < base.length) edits.push({ keep, drop: base.length - i, add: 0 });
  return { edits, added };
}

/** What a diff claims the rebuilt list is. */
export interface DiffClaim {
  /** Chunks in the rebuilt list. */
  readonly total: number;
  /** `chunkListHash` of the rebuilt list. */
  readonly listHash: Uint8Array;
  /** The file hash (`fileHashOf` its chunk hashes). */
  readonly hash: Uint8Array;
  /** Sum of the chunk lengths. */
  readonly size: number;
}

/**
 * The list `diff` makes of `base`, checked against everything `claim` says
 * of it. Throws {@linkcode ChunkDiffError} when the edits do not fit the base
 * or the result is not the claimed list. The result's chunks are those of
 * `base` and `diff.added` themselves (not copies).
 */
export function rebuildChunkList(
  base: readonly ListChunk[],
  diff: ChunkListDiff,
  claim: DiffClaim,
): ListChunk[] {
  const out: ListChunk[] = [];
  let i = 0;
  let a = 0;
  for (const edit of diff.edits) {
    if (i + edit.keep + edit.drop > base.length) {
      throw new ChunkDiffError(
        `Edits reach past the ${base.length} chunks of the base`,
      );
    }
    if (a + edit.add > diff.added.length) {
      throw new ChunkDiffError(
        `Edits add more than the ${diff.added.length} chunks given`,
      );
    }
    for (let k = 0; k < edit.keep; k++) out.push(base[i + k]!);
    i += edit.keep + edit.drop;
    for (let k = 0; k < edit.add; k++) out.push(diff.added[a + k]!);
    a += edit.add;
  }
  if (out.length + base.length - i !== claim.total) {
    throw new ChunkDiffError(
      `Edits of a base of ${base.length} chunks make ${
        out.length + base.length - i
      }, not ${claim.total}`,
    );
  }
  for (; i < base.length; i++) out.push(base[i]!);
  let size = 0;
  for (const chunk of out) size += chunk.length;
  if (size !== claim.size) {
    throw new ChunkDiffError(
      `Rebuilt chunks sum to ${size} bytes, not ${claim.size}`,
    );
  }
  if (!sameBytes(chunkListHash(out), claim.listHash)) {
    throw new ChunkDiffError("Rebuilt chunk list does not match its hash");
  }
  if (!sameBytes(fileHashOfChunks(out), claim.hash)) {
    throw new ChunkDiffError("Rebuilt chunk list does not match the file hash");
  }
  return out;
}
