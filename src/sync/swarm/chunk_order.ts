/**
 * In which order a receiver asks for the chunks of a big file, and which
 * chunk it asks a given peer for. Receivers that all asked from the first
 * chunk onward asked the one complete holder for the same chunks at the
 * same time, so none had anything the others lacked (the swarm probe: two
 * receivers behind one slow link took 1.53x one receiver).
 *
 * The file is cut into segments of a few MiB. Each receiver walks the
 * segments in its own pseudo-random permutation (seeded per receiver and
 * path) and the chunks of a segment in order, so what it holds, and
 * announces, stays a few ranges. Every source has a lane (the segment it
 * is being asked for); when its lane runs out it gets a new segment: the
 * one whose first needed chunk the fewest peers still receiving the file
 * hold (rarest first: a complete holder's capacity goes to what only it
 * can give, a partial holder's to what few others have), ties in the
 * receiver's own order. Segments in another source's lane are taken only
 * when no other is left (the end of the file). Pure: no I/O, no clock.
 * @module
 */

/** Consecutive chunks `[first, first + count)`. */
export interface Segment {
  readonly first: number;
  readonly count: number;
}

/** Smallest segment (bytes). */
export const SEGMENT_MIN_BYTES = 1 << 20;
/** Largest segment (bytes): 64 per 256 MiB, as many ranges at most. */
export const SEGMENT_MAX_BYTES = 4 << 20;
/** Segments a file is cut into when the bounds allow. */
export const SEGMENTS_WANTED = 64;

/** The segment size for a file of `size` bytes. */
export function segmentBytesFor(size: number): number {
  return Math.min(
    SEGMENT_MAX_BYTES,
    Math.max(SEGMENT_MIN_BYTES, Math.ceil(size / SEGMENTS_WANTED)),
  );
}

/**
 * `chunks` cut into segments of at least `segmentBytes` (the last may be
 * shorter), at chunk boundaries.
 */
export function segmentsOf(
  chunks: readonly { readonly length: number }[],
  segmentBytes: number,
): Segment[] {
  const out: Segment[] = [];
  let first = 0;
  let bytes = 0;
  for (let i = 0; i < chunks.length; i++) {
    bytes += chunks[i]!.length;
    if (bytes >= segmentBytes) {
      out.push({ first, count: i + 1 - first });
      first = i + 1;
      bytes = 0;
    }
  }
  if (first < chunks.length) out.push({ first, count: chunks.length - first });
  return out;
}

/** A 32-bit seed for the order of `path` on the receiver seeded `seed`. */
export function orderSeed(seed: number, path: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0; // FNV-1a, started from the seed
  for (const byte of new TextEncoder().encode(path)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h;
}

/** `0 … count-1` shuffled by a small PRNG (mulberry32) seeded with `seed`. */
export function permutation(count: number, seed: number): number[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** How many peers still receiving the file hold chunk `index`. */
export type Holders = (index: number) => number;

const NEEDED = 0;
const ASKED = 1;
const DONE = 2;

/** The chunks of one pull: needed, asked for, or done; see the module comment. */
export class ChunkOrder {
  readonly #state: Uint8Array;
  readonly #segments: readonly Segment[];
  /** Segments in this receiver's order. */
  readonly #order: readonly number[];
  /** Per segment: no chunk before this index of it is needed. */
  readonly #cursor: Int32Array;
  /** Source key → the segment of its lane. */
  readonly #lanes = new Map<string, number>();
  #done = 0;
  #needed: number;

  /**
   * `order` is a permutation of the indexes of `segments`, which cover
   * chunks `0 … chunkCount-1` in order.
   */
  constructor(
    chunkCount: number,
    segments: readonly Segment[],
    order: readonly number[],
  ) {
    this.#state = new Uint8Array(chunkCount);
    this.#segments = segments;
    this.#order = order;
    this.#cursor = new Int32Array(segments.map((s) => s.first));
    this.#needed = chunkCount;
  }

  /** The order of a file with these chunks, for the receiver seeded `seed`. */
  static of(
    chunks: readonly { readonly length: number }[],
    path: string,
    seed: number,
  ): ChunkOrder {
    let size = 0;
    for (const c of chunks) size += c.length;
    const segments = segmentsOf(chunks, segmentBytesFor(size));
    return new ChunkOrder(
      chunks.length,
      segments,
      permutation(segments.length, orderSeed(seed, path)),
    );
  }

  /** Every chunk is done. */
  get finished(): boolean {
    return this.#done === this.#state.length;
  }

  /** Chunks neither done nor asked for. */
  get needed(): number {
    return this.#needed;
  }

  /** Chunk `index` is in the pull (kept, copied or fetched). */
  markDone(index: number): void {
    const s = this.#state[index];
    if (s === DONE || s === undefined) return;
    if (s === NEEDED) this.#needed--;
    this.#state[index] = DONE;
    this.#done++;
  }

  /** Asking for chunk `index` failed: it is needed again. */
  release(index: number): void {
    if (this.#state[index] !== ASKED) return;
    this.#state[index] = NEEDED;
    this.#needed++;
    const seg = this.#segmentOf(index);
    if (index < this.#cursor[seg]!) this.#cursor[seg] = index;
  }

  /**
   * The chunk to ask the source `key` for next, marked asked; undefined
   * when it can serve no needed chunk. `serves` says whether it may be
   * asked for a chunk (it holds it, has not failed it).
   */
  next(
    key: string,
    serves: (index: number) => boolean,
    holders: Holders,
  ): number | undefined {
    if (this.#needed === 0) return undefined;
    const lane = this.#lanes.get(key);
    if (lane !== undefined) {
      const i = this.#firstIn(lane, serves);
      if (i !== undefined) return this.#ask(i);
    }
    const seg = this.#pickSegment(key, serves, holders);
    if (seg === undefined) {
      this.#lanes.delete(key);
      return undefined;
    }
    this.#lanes.set(key, seg);
    return this.#ask(this.#firstIn(seg, serves)!);
  }

  #ask(index: number): number {
    this.#state[index] = ASKED;
    this.#needed--;
    return index;
  }

  /** The first needed chunk of segment `seg`, moving its cursor up to it. */
  #firstNeeded(seg: number): number | undefined {
    const { first, count } = this.#segments[seg]!;
    let i = this.#cursor[seg]!;
    while (i < first + count && this.#state[i] !== NEEDED) i++;
    this.#cursor[seg] = i;
    return i < first + count ? i : undefined;
  }

  /** The first needed chunk of `seg` that `serves` allows. */
  #firstIn(
    seg: number,
    serves: (index: number) => boolean,
  ): number | undefined {
    const start = this.#firstNeeded(seg);
    if (start === undefined) return undefined;
    const { first, count } = this.#segments[seg]!;
    for (let i = start; i < first + count; i++) {
      if (this.#state[i] === NEEDED && serves(i)) return i;
    }
    return undefined;
  }

  /** A new lane for `key`: see the module comment. */
  #pickSegment(
    key: string,
    serves: (index: number) => boolean,
    holders: Holders,
  ): number | undefined {
    const taken = new Set<number>();
    for (const [other, seg] of this.#lanes) if (other !== key) taken.add(seg);
    for (const inLane of [false, true]) {
      let best: number | undefined;
      let bestScore = Infinity;
      for (const seg of this.#order) {
        if (taken.has(seg) !== inLane) continue;
        const i = this.#firstNeeded(seg);
        if (i === undefined || !serves(i)) continue;
        const score = holders(i);
        if (score < bestScore) {
          best = seg;
          bestScore = score;
          if (score === 0) break;
        }
      }
      if (best !== undefined) return best;
    }
    return undefined;
  }

  #segmentOf(index: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid]!.first <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
