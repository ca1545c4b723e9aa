/**
 * Version vectors: one counter per replica that changed a file. Immutable
 * values, kept sorted by replica id with no zero counters, so equal vectors
 * have equal encodings.
 */

/** One replica's counter in a version vector. */
export interface VersionCounter {
  /** Replica id, an unsigned 64-bit integer. */
  readonly replica: bigint;
  /** How many changes that replica made; always >= 1. */
  readonly counter: number;
}

/** A version vector: counters sorted by replica id, frozen. */
export type VersionVector = readonly VersionCounter[];

/** How two version vectors relate. */
export type VersionOrder = "equal" | "greater" | "lesser" | "concurrent";

const U64_MAX = (1n << 64n) - 1n;
const ENTRY_BYTES = 16;

/** The vector of a file nobody has changed yet. */
export const EMPTY_VERSION: VersionVector = Object.freeze([]);

function checkReplica(replica: bigint): void {
  if (replica < 0n || replica > U64_MAX) {
    throw new RangeError(
      `Replica id ${replica} is not an unsigned 64-bit integer`,
    );
  }
}

function checkCounter(counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(
      `Version counter ${counter} is not a safe non-negative integer`,
    );
  }
}

/** Builds a vector from (replica, counter) pairs; zero counters are dropped, duplicates keep the largest. */
export function versionOf(
  entries: Iterable<readonly [bigint, number]>,
): VersionVector {
  const map = new Map<bigint, number>();
  for (const [replica, counter] of entries) {
    checkReplica(replica);
    checkCounter(counter);
    if (counter > (map.get(replica) ?? 0)) map.set(replica, counter);
  }
  const sorted = [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.freeze(
    sorted.map(([replica, counter]) => Object.freeze({ replica, counter })),
  );
}

/** The counter of `replica` in `v` (0 when absent). */
export function counterOf(v: VersionVector, replica: bigint): number {
  for (const entry of v) {
    if (entry.replica === replica) return entry.counter;
  }
  return 0;
}

/**
 * Largest counter a record may carry, of any replica: every device refuses
 * a record with more (a rule that depends on the record alone, so a record
 * is taken everywhere or nowhere; issue #19). No honest replica gets near
 * it: one edit adds one.
 */
export const MAX_VERSION_COUNTER: number = 2 ** 52;

/** Most entries a vector may hold (the protocol's limit). */
const MAX_ENTRIES = 256;

/**
 * The id `replica` writes under once its own counter of a path is at
 * {@linkcode MAX_VERSION_COUNTER} (a hostile peer can put it there: the
 * value is valid). Fixed per replica (SplitMix64 of its id), so no other
 * replica uses it.
 */
export function overflowReplica(replica: bigint): bigint {
  const mask = (1n << 64n) - 1n;
  let z = (replica + 0x9e3779b97f4a7c15n) & mask;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
  return z ^ (z >> 31n);
}

/**
 * A new vector one change past `v`, made by `replica`: its counter one
 * higher, or, when that counter is at {@linkcode MAX_VERSION_COUNTER}, the
 * counter of its {@linkcode overflowReplica} (and so on). A counter past
 * the bound would be refused by every peer, and the replica's edits of the
 * path would never leave it again.
 */
export function bump(v: VersionVector, replica: bigint): VersionVector {
  checkReplica(replica);
  let writer = replica;
  let hops = 0;
  while (counterOf(v, writer) >= MAX_VERSION_COUNTER) {
    if (++hops >= MAX_ENTRIES) {
      throw new RangeError(
        `Version counters of replica ${replica} and its ${MAX_ENTRIES} overflow ids are all at ${MAX_VERSION_COUNTER}`,
      );
    }
    writer = overflowReplica(writer);
  }
  return versionOf([
    ...v.map((e) => [e.replica, e.counter] as const),
    [writer, counterOf(v, writer) + 1] as const,
  ]);
}

/** The element-wise maximum of two vectors. */
export function merge(a: VersionVector, b: VersionVector): VersionVector {
  return versionOf([...a, ...b].map((e) => [e.replica, e.counter] as const));
}

/** Compares two vectors: equal, greater (a dominates b), lesser, or concurrent. */
export function compare(a: VersionVector, b: VersionVector): VersionOrder {
  let aAhead = false;
  let bAhead = false;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ea = a[i];
    const eb = b[j];
    if (eb === undefined || (ea !== undefined && ea.replica < eb.replica)) {
      if (ea !== undefined && ea.counter > 0) aAhead = true;
      i++;
    } else if (ea === undefined || eb.replica < ea.replica) {
      if (eb.counter > 0) bAhead = true;
      j++;
    } else {
      if (ea.counter > eb.counter) aAhead = true;
      else if (eb.counter > ea.counter) bAhead = true;
      i++;
      j++;
    }
    if (aAhead && bAhead) return "concurrent";
  }
  if (aAhead) return "greater";
  if (bAhead) return "lesser";
  return "equal";
}

/** Encodes a vector as 16 bytes per counter: replica u64 BE, counter u64 BE. */
export function encodeVersion(v: VersionVector): Uint8Array {
  const out = new Uint8Array(v.length * ENTRY_BYTES);
  const view = new DataView(out.buffer);
  v.forEach((entry, k) => {
    view.setBigUint64(k * ENTRY_BYTES, entry.replica);
    view.setBigUint64(k * ENTRY_BYTES + 8, BigInt(entry.counter));
  });
  return out;
}

/**
 * Decodes bytes from {@linkcode encodeVersion}. Throws `RangeError` when the
 * length is not a multiple of 16, replicas are not strictly increasing, or a
 * counter is zero or above 2^53 - 1.
 */
export function decodeVersion(bytes: Uint8Array): VersionVector {
  if (bytes.length % ENTRY_BYTES !== 0) {
    throw new RangeError(
      `Version vector of ${bytes.length} bytes is not a multiple of ${ENTRY_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: VersionCounter[] = [];
  let previous = -1n;
  for (let off = 0; off < bytes.length; off += ENTRY_BYTES) {
    const replica = view.getBigUint64(off);
    const counter = view.getBigUint64(off + 8);
    if (replica <= previous) {
      throw new RangeError(`Version vector replica ${replica} is out of order`);
    }
    if (counter === 0n || counter > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`Version vector counter ${counter} is out of range`);
    }
    previous = replica;
    entries.push(Object.freeze({ replica, counter: Number(counter) }));
  }
  return Object.freeze(entries);
}
