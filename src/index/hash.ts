/**
 * BLAKE3, behind one module so the implementation can be swapped. Every
 * hash dsync computes is `blake3-jit`'s: one-shot (`blake3`,
 * `blake3Into`: WebAssembly SIMD from 4 KiB, pure JS below), which is what
 * the scanner's chunks, the chunk checks and the file hash use; its
 * incremental hasher (pure JS, ~330 vs ~700 MB/s one-shot here) behind
 * `Blake3Hasher`, for XOF output, the file hash of long chunk lists
 * (`fileHasher`: 32 bytes a chunk, ~0.5 MB for a 1 GiB file) and tests
 * and scripts hashing whole files.
 *
 * The WebAssembly decision (issue #17: a hand-emitted kernel stays only
 * where it makes `deno task bench sync` at least 1.3x faster end to end).
 * dsync had its own BLAKE3 SIMD kernel, WebAssembly emitted at load time
 * (`_blake3_simd.ts` and `_blake3_engine.ts`, ~610 lines, removed after
 * commit d8465c3). Measured against blake3-jit and hash-wasm:
 * - `deno task bench wasm`, one-shot over 64 KiB chunks, interleaved, 5
 *   runs at load ~13: emitted 266 MB/s, blake3-jit 212 (1.25x), hash-wasm
 *   92; on an idle machine ~940 vs ~620 MB/s (1.5x).
 * - The decisive run, quiet machine (load 0.4-2.5), 7 December,
 *   `deno run -A scripts/bench_sync.ts --only big,text --tools dsync`,
 *   emitted kernel vs blake3-jit for every hash, 4 runs each interleaved
 *   ABAB, wall time to identical: 1 GiB random medians 7.97 vs 8.47 s
 *   (1.06x), 1 GiB text 6.13 vs 7.27 s (1.19x); receiver CPU 5.1-5.5 vs
 *   5.8-6.0 s (random).
 * Below the bar in both, so the kernel went. Its price, measured after
 * the removal on the shared 2-core machine (this code vs d8465c3,
 * interleaved, medians; CPU seconds, as wall time followed the load):
 * - the scanner's digest (`file_digest.ts`, 256 MiB from the page cache,
 *   one thread, 6 runs): 1.25x the CPU read from a file, 1.17x in memory;
 *   the hasher workers (`HasherPool.hashFile`, 4 x 256 MiB, 2 workers, 5
 *   runs): 1.30x (random), 1.20x (text). A profile puts it in the hash
 *   itself: ~1.4 s of CPU per GiB of 64 KiB chunks here vs ~0.8 s for
 *   the kernel, which hashed in place where blake3-jit copies (and
 *   transposes) the input into its own memory.
 * - `bench_sync --only big,text --tools dsync`, 5 runs each ABAB at load
 *   7-20, before unaligned input was copied (`wordAligned`): CPU
 *   sender / receiver 1 GiB random 12.5 / 8.2 vs 16.0 / 6.7 s (receiver
 *   1.22x; the sender's spread, 10-22 s, hides any difference), 1 GiB
 *   text 9.8 / 7.7 vs 7.4 / 6.2 s (1.32x / 1.24x); wall 44.7 vs 34.1 s
 *   (random) and 40.5 vs 24.8 s (text), each run 8-86 s with the load.
 * - With unaligned input copied, 3 more runs each ABAB at load 11-22:
 *   receiver CPU random 7.5 / 9.5 / 8.8 vs 7.7 / 9.3 / 8.8 s (1.00x),
 *   text 8.0 / 9.2 / 9.6 vs 7.8 / 8.1 / 10.0 s (1.14x); sender text 1.01x,
 *   sender random 12-23 s either way; wall text 59.6 vs 54.5 s (1.09x),
 *   random one timeout at 120 s here (indexing alone took 13.8 s at load
 *   18) and 28.6 / 109.3 vs 55.2 / 72.4 / 86.0 s. CPU per GiB, one thread,
 *   5 runs ABAB: the index pass (`digestBytes`) 2.51 vs 1.96 s (1.28x),
 *   the chunk check (one-shot per 64 KiB) 1.40 vs 0.93 s aligned (1.51x),
 *   1.35 vs 1.11 s at an odd offset (1.22x).
 * `tests/index/blake3_reference_test.ts` holds what hashes now to
 * hash-wasm over every size to 2 KiB and random sizes to 1 MiB, and to
 * the `b3sum` tool; `hash_test.ts` to the official vectors.
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

/** The two ASCII codes of each byte's lower-case hex, byte `b` at `2b`. */
const HEX_CODES = (() => {
  const digits = "0123456789abcdef";
  const codes = new Uint16Array(512);
  for (let b = 0; b < 256; b++) {
    codes[2 * b] = digits.charCodeAt(b >> 4);
    codes[2 * b + 1] = digits.charCodeAt(b & 15);
  }
  return codes;
})();

/** Longest input whose character codes go through a kept array. */
const HEX_SCRATCH_MAX = 64;
/** Kept code arrays, by input length (each exactly twice as long). */
const hexScratch: number[][] = [];

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  // One string made from character codes: appending two characters at a
  // time made a string per byte (a 32-byte hash left 31 behind, 1.2 KB of
  // garbage per pulled small file, 3% of a receiver's allocations).
  const n = bytes.length;
  if (n > HEX_SCRATCH_MAX) {
    let out = "";
    for (let at = 0; at < n; at += HEX_SCRATCH_MAX) {
      out += toHex(bytes.subarray(at, Math.min(n, at + HEX_SCRATCH_MAX)));
    }
    return out;
  }
  const codes = hexScratch[n] ??= new Array<number>(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    codes[2 * i] = HEX_CODES[2 * b]!;
    codes[2 * i + 1] = HEX_CODES[2 * b + 1]!;
  }
  return String.fromCharCode.apply(null, codes);
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
