/**
 * BLAKE3, behind one module so the implementation can be swapped.
 *
 * Short inputs and XOF output use `blake3-jit` (pure JS is fastest there);
 * inputs of 4 KiB and more, and the incremental hasher, use the WebAssembly
 * SIMD engine of `_blake3_engine.ts` (measured: `blake3-jit`'s incremental
 * hasher runs ~220 MB/s, the engine ~830 MB/s; one-shot 64 KiB ~620 vs
 * ~940 MB/s on the 2-core CI machine).
 * @module
 */

import { createHasher, hash as jitHash, hashInto } from "blake3-jit";

/** Length of a BLAKE3 digest in bytes. */
export const BLAKE3_LEN = 32;

/** Inputs up to this long are hashed from an aligned copy when unaligned. */
const ALIGN_MAX = 1 << 20;
let alignedCopy = new Uint8Array(64 << 10);

/**
 * `data`, or a copy of it at an offset that is a multiple of 4: blake3-jit
 * reads such input as 32-bit words and any other byte by byte, which was
 * measured ~1.5x slower (64 KiB: ~700 vs ~1,050 MB/s), against a copy that
 * costs a few percent of the hash. Chunks cut by FastCDC or taken out of a
 * frame mostly start at odd offsets. The copy is reused: hashing is
 * synchronous, so it is free again when the hash returns.
 */
function wordAligned(data: Uint8Array): Uint8Array {
  if (data.byteOffset % 4 === 0 || data.length > ALIGN_MAX) return data;
  if (alignedCopy.length < data.length) {
    let size = alignedCopy.length;
    while (size < data.length) size *= 2;
    alignedCopy = new Uint8Array(size);
  }
  alignedCopy.set(data);
  return alignedCopy.subarray(0, data.length);
}

/** Leads the input of {@linkcode fileHashOf}, apart from any chunk's hash. */
const FILE_HASH_PREFIX = new TextEncoder().encode("dsync/1 file\n");

/**
 * The content hash of a regular file: BLAKE3 of `"dsync/1 file\n"` followed
 * by the BLAKE3 of each of its chunks in order (a one-level hash tree). The
 * chunk hashes are computed anyway, so the file hash costs no second pass
 * over the content, and a receiver that verified every chunk has verified
 * the file. `chunkHashes` is the chunks' 32-byte hashes, back to back.
 */
export function fileHashOf(chunkHashes: Uint8Array): Uint8Array {
  if (chunkHashes.length % BLAKE3_LEN !== 0) {
    throw new RangeError(
      `Chunk hashes of ${chunkHashes.length} bytes are not whole 32-byte hashes`,
    );
  }
  const input = new Uint8Array(FILE_HASH_PREFIX.length + chunkHashes.length);
  input.set(FILE_HASH_PREFIX);
  input.set(chunkHashes, FILE_HASH_PREFIX.length);
  return blake3(input);
}

/**
 * An incremental {@linkcode fileHashOf}: add the chunk hashes in order
 * (any split), then `digest()`. Hashes a long list without a copy of it.
 */
export function fileHasher(): Blake3Hasher {
  return new Blake3Hasher().update(FILE_HASH_PREFIX);
}

/**
 * {@linkcode fileHashOf} for chunks given as objects. A long list is fed
 * through a 64 KiB stage: a copy of every hash (and a second one behind
 * the prefix) cost 30 MB at the 448K-chunk cap.
 */
export function fileHashOfChunks(
  chunks: readonly { readonly hash: Uint8Array }[],
): Uint8Array {
  const stageHashes = 2048;
  const hashes = new Uint8Array(
    Math.min(chunks.length, stageHashes) * BLAKE3_LEN,
  );
  const hasher = chunks.length > stageHashes ? fileHasher() : undefined;
  let fill = 0;
  for (let i = 0; i < chunks.length; i++) {
    const h = chunks[i]!.hash;
    if (h.length !== BLAKE3_LEN) {
      throw new RangeError(`Chunk ${i} has a hash of ${h.length} bytes`);
    }
    hashes.set(h, fill);
    fill += BLAKE3_LEN;
    if (hasher !== undefined && fill === hashes.length) {
      hasher.update(hashes);
      fill = 0;
    }
  }
  if (hasher === undefined) return fileHashOf(hashes);
  if (fill > 0) hasher.update(hashes.subarray(0, fill));
  return hasher.digest();
}

/**
 * BLAKE3 of `data`; `length` bytes of output (default 32; other lengths use
 * the XOF, limited to 64 bytes unless `data` is at most 1024 bytes long).
 */
export function blake3(
  data: Uint8Array,
  length: number = BLAKE3_LEN,
): Uint8Array {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(
      `Cannot hash to ${length} bytes: length must be a positive integer`,
    );
  }
  if (length !== BLAKE3_LEN) {
    // blake3-jit 1.1.0: one-shot hash() fails for outputs over 64 bytes, and its
    // hasher's XOF reader is wrong past 64 bytes for inputs over one chunk
    // (checked against the official vectors); refuse what would be wrong.
    if (length > 64 && data.length > 1024) {
      throw new RangeError(
        `Cannot hash ${data.length} bytes to ${length} bytes: outputs over 64 bytes need inputs of at most 1024`,
      );
    }
    return createHasher().update(data).finalize(length);
  }
  return jitHash(wordAligned(data));
}

/**
 * BLAKE3 of `data` written into the first 32 bytes of `out`, without
 * allocating (how the file digest hashes its chunks).
 */
export function blake3Into(data: Uint8Array, out: Uint8Array): void {
  if (out.length < BLAKE3_LEN) {
    throw new RangeError(
      `Cannot write a BLAKE3 digest into ${out.length} bytes`,
    );
  }
  hashInto(wordAligned(data), out);
}

/** Incremental BLAKE3 (32-byte output). */
export class Blake3Hasher {
  readonly #hasher = createHasher();
  #done = false;

  /** Adds `data`; returns `this`. */
  update(data: Uint8Array): this {
    if (this.#done) {
      throw new TypeError("Cannot update a BLAKE3 hasher after digest()");
    }
    this.#hasher.update(data);
    return this;
  }

  /** The digest of everything added; the hasher cannot be used afterwards. */
  digest(): Uint8Array {
    if (this.#done) {
      throw new TypeError("Cannot call digest() twice on a BLAKE3 hasher");
    }
    this.#done = true;
    return this.#hasher.finalize(BLAKE3_LEN);
  }
}

const HEX = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** Bytes of a hex string (either case); throws `TypeError` on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string") {
    throw new TypeError(`Cannot parse hex: not a string`);
  }
  if (hex.length % 2 !== 0) {
    throw new TypeError(
      `Cannot parse hex "${preview(hex)}": odd length ${hex.length}`,
    );
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new TypeError(
        `Cannot parse hex "${preview(hex)}": invalid character at ${
          2 * i + (hi < 0 ? 0 : 1)
        }`,
      );
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function preview(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
