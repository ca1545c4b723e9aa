/**
 * The LZ4 block compressor of `_lz4_compress.ts` (same output byte for
 * byte) and the decoder of `_lz4_block.ts` (same checks, same results), as
 * WebAssembly emitted at load time: no `.wasm` file, so no file permission
 * and nothing extra to embed in a binary. Measured on source text (CPU time,
 * 64 KiB chunks): compression ~1.2x the TypeScript version (~370 vs ~310
 * MB/s; the `lz4` CLI at level 1 on 64 KiB blocks: ~530), decoding ~2x
 * (~650 vs ~340 MB/s); see `scripts/bench_lz4.ts`.
 *
 * Kept after measuring it against the alternatives (issue #17: an
 * emitted kernel stays only where it makes a sync at least 1.3x faster end
 * to end). Same inputs, variants interleaved, on the shared 2-core machine
 * under a 1-minute load average of 8 to 41 (median 23) from other
 * engineers' runs (wall times follow the load):
 * - `deno task bench wasm`, 64 KiB chunks, 5 runs (load ~13): compress 80
 *   vs 60 MB/s TypeScript (1.33x), decode 191 vs 88 MB/s (2.18x).
 * - 7 December, `deno task bench sync --only big,text --tools dsync`
 *   (loopback), this tree vs the TypeScript codec (BLAKE3 unchanged),
 *   interleaved with the BLAKE3 comparison recorded in `index/hash.ts`:
 *   CPU seconds sender / receiver, 1 GiB text 14.4 / 12.4 (median of 2)
 *   vs 14.8 / 12.5 (median of 2), 1.02x for the run; 1 GiB random
 *   18.9 / 12.3 vs 19.7 / 13.9 (1 run; the second timed out at 300 s
 *   under a load of 22), 1.08x. Wall: text 110.5 s (107.7, 113.3 at loads
 *   9.6, 14.7) vs 132.9 s (78.5, 187.3 at loads 23.6, 29.2): noise. On
 *   loopback the governor mostly sends text as is, so the kernel barely
 *   shows there.
 * - Where compression pays, it decides: `tests/e2e/compression_link_test.ts`
 *   (96 MiB of text over a 100 Mbit/s veth link, load ~40) sent 64.0 MiB
 *   with this kernel and 89.3 and 93.1 MiB with the TypeScript codec,
 *   whose slower compression under load made the governor stop
 *   compressing: ~1.4x the bytes, and the time, of a link-bound transfer
 *   (and the test fails).
 * So it stays. A reference test holds it to an independent implementation
 * over random sizes up to 1 MiB (`tests/compress/lz4_reference_test.ts`,
 * lz4js).
 *
 * Memory: the hash table at 0 (2^14 i32 positions), the input at `SRC`, the
 * output at `OUT`, then `SLACK` bytes for short copies that run past the
 * end; inputs or outputs over {@linkcode WASM_MAX} bytes, or a runtime
 * without WebAssembly, go to the TypeScript versions.
 * @module
 */

import { MAX_CHUNK_SIZE } from "../protocol/mod.ts";
import { Body, I32, section, str, uleb, WASM_HEADER } from "../wasm/mod.ts";
import { decodeLz4Block, type Lz4BlockProblem } from "./_lz4_block.ts";
import { compressLz4Block } from "./_lz4_compress.ts";

const HASH_LOG = 14;
const TABLE_BYTES = 4 << HASH_LOG;
/** Largest input and output handled in WebAssembly. */
export const WASM_MAX: number = MAX_CHUNK_SIZE;
const SRC = TABLE_BYTES;
const OUT = SRC + WASM_MAX;
/** Room for 16-byte copies past the end of the output. */
const SLACK = 16;
const PAGES = Math.ceil((OUT + WASM_MAX + SLACK) / 65536);
const PRIME = 2654435761 | 0;

// Opcodes.
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const RETURN = 0x0f;
const SELECT = 0x1b;
const LOAD32 = [0x28, 0, 0];
const LOAD8 = [0x2d, 0, 0];
const LOAD16 = [0x2f, 0, 0];
const LOAD64 = [0x29, 0, 0];
const STORE64 = [0x37, 0, 0];
const STORE32 = [0x36, 0, 0];
const STORE8 = [0x3a, 0, 0];
const STORE16 = [0x3b, 0, 0];
const EQZ = 0x45;
const EQ = 0x46;
const NE = 0x47;
const LT_S = 0x48;
const GT_S = 0x4a;
const LE_S = 0x4c;
const GE_S = 0x4e;
const CTZ = 0x68;
const ADD = 0x6a;
const SUB = 0x6b;
const MUL = 0x6c;
const DIV_U = 0x6e;
const AND = 0x71;
const OR = 0x72;
const XOR = 0x73;
const SHL = 0x74;
const SHR_U = 0x76;
const I64_CTZ = 0x7a;
const I64_XOR = 0x85;
const I32_WRAP_I64 = 0xa7;
const MEMORY_COPY = [0xfc, 10, 0, 0];

/**
 * Emits a copy of `len` bytes from `srcP + srcAt` to `outP + outAt` (all
 * locals): up to 16 bytes as two 8-byte moves (the slack past the input and
 * the output lies inside the memory, and is overwritten or never read), more
 * with `memory.copy`.
 */
function emitCopy(
  f: Body,
  outP: number,
  outAt: number,
  srcP: number,
  srcAt: number,
  len: number,
): void {
  f.get(len).i32(16).op(LE_S).op(...IF);
  f.get(outP).get(outAt).op(ADD).get(srcP).get(srcAt).op(ADD)
    .op(...LOAD64).op(...STORE64);
  f.get(outP).get(outAt).op(ADD).i32(8).op(ADD)
    .get(srcP).get(srcAt).op(ADD).i32(8).op(ADD)
    .op(...LOAD64).op(...STORE64);
  f.op(ELSE);
  f.get(outP).get(outAt).op(ADD).get(srcP).get(srcAt).op(ADD).get(len)
    .op(...MEMORY_COPY);
  f.op(END);
}

/**
 * `compress(src, n, out, cap, b) -> length | -1`: positions are stored in
 * the table as `b + position`; values below `b` are from earlier calls.
 */
function compressBody(): number[] {
  const [SRC_P, N, OUT_P, CAP, B] = [0, 1, 2, 3, 4];
  const f = new Body(5);
  const op = f.i32Local();
  const anchor = f.i32Local();
  const ip = f.i32Local();
  const searchLimit = f.i32Local();
  const matchLimit = f.i32Local();
  const misses = f.i32Local();
  const seq = f.i32Local();
  const h = f.i32Local();
  const ref = f.i32Local();
  const end = f.i32Local();
  const from = f.i32Local();
  const diff = f.i32Local();
  const litLen = f.i32Local();
  const matchLen = f.i32Local();
  const tokenPos = f.i32Local();
  const token = f.i32Local();
  const rest = f.i32Local();

  /** Pushes the table address for the 4 bytes the stack holds. */
  const hashAddr = () =>
    f.i32(PRIME).op(MUL).i32(32 - HASH_LOG).op(SHR_U).i32(2).op(SHL);
  /** Pushes the bytes after a token that extend a length of `local` (>= 15). */
  const extra = (push: () => void) => {
    push();
    f.i32(15).op(SUB).i32(255).op(DIV_U).i32(1).op(ADD);
    f.i32(0);
    push();
    f.i32(15).op(GE_S).op(SELECT);
  };
  /** Writes the 255 bytes and the remainder of a length `rest` >= 0 past 15. */
  const writeLengthTail = () => {
    f.op(...BLOCK, ...LOOP);
    f.get(rest).i32(255).op(LT_S).op(BR_IF, 1);
    f.get(OUT_P).get(op).op(ADD).i32(255).op(...STORE8);
    f.addTo(op, 1);
    f.addTo(rest, -255);
    f.op(BR, 0, END, END);
    f.get(OUT_P).get(op).op(ADD).get(rest).op(...STORE8);
    f.addTo(op, 1);
  };

  f.get(N).i32(13).op(GE_S).op(...IF);
  {
    f.get(N).i32(12).op(SUB).set(searchLimit);
    f.get(N).i32(5).op(SUB).set(matchLimit);
    f.get(SRC_P).op(...LOAD32);
    hashAddr();
    f.get(B).op(...STORE32);
    f.i32(1).set(ip);
    f.i32(64).set(misses);
    f.op(...BLOCK, ...LOOP); // $done, $search
    {
      f.get(ip).get(searchLimit).op(GT_S).op(BR_IF, 1);
      f.get(SRC_P).get(ip).op(ADD).op(...LOAD32).set(seq);
      f.get(seq);
      hashAddr();
      f.set(h);
      f.get(h).op(...LOAD32).get(B).op(SUB).set(ref);
      f.get(h).get(ip).get(B).op(ADD).op(...STORE32);
      f.op(...BLOCK, ...BLOCK); // $found, $miss
      f.get(ref).i32(0).op(LT_S).op(BR_IF, 0);
      f.get(ip).get(ref).op(SUB).i32(65535).op(GT_S).op(BR_IF, 0);
      f.get(SRC_P).get(ref).op(ADD).op(...LOAD32).get(seq).op(NE).op(
        BR_IF,
        0,
      );
      f.op(BR, 1, END); // found; end $miss
      f.get(ip).get(misses).i32(6).op(SHR_U).op(ADD).set(ip);
      f.addTo(misses, 1);
      f.op(BR, 1, END); // continue $search; end $found
      f.i32(64).set(misses);
      // Extend backwards.
      f.op(...BLOCK, ...LOOP);
      f.get(ip).get(anchor).op(LE_S).op(BR_IF, 1);
      f.get(ref).i32(0).op(LE_S).op(BR_IF, 1);
      f.get(SRC_P).get(ip).op(ADD).i32(1).op(SUB).op(...LOAD8);
      f.get(SRC_P).get(ref).op(ADD).i32(1).op(SUB).op(...LOAD8);
      f.op(NE).op(BR_IF, 1);
      f.addTo(ip, -1);
      f.addTo(ref, -1);
      f.op(BR, 0, END, END);
      // Extend forwards, 8 bytes at a time, then 4, then by the first
      // differing byte. `diff` < 64 once the 8-byte steps found it.
      f.get(ip).i32(4).op(ADD).set(end);
      f.get(ref).i32(4).op(ADD).set(from);
      f.i32(64).set(diff);
      f.op(...BLOCK, ...LOOP);
      f.get(end).get(matchLimit).i32(7).op(SUB).op(GE_S).op(BR_IF, 1);
      f.get(SRC_P).get(end).op(ADD).op(...LOAD64);
      f.get(SRC_P).get(from).op(ADD).op(...LOAD64);
      f.op(I64_XOR, I64_CTZ, I32_WRAP_I64).tee(diff);
      f.i32(3).op(SHR_U).get(end).op(ADD).set(end);
      f.get(diff).i32(3).op(SHR_U).get(from).op(ADD).set(from);
      f.get(diff).i32(64).op(NE).op(BR_IF, 1);
      f.op(BR, 0, END, END);
      f.get(diff).i32(64).op(EQ).op(...IF);
      f.i32(0).set(diff);
      f.op(...BLOCK, ...LOOP);
      f.get(end).get(matchLimit).i32(3).op(SUB).op(GE_S).op(BR_IF, 1);
      f.get(SRC_P).get(end).op(ADD).op(...LOAD32);
      f.get(SRC_P).get(from).op(ADD).op(...LOAD32);
      f.op(XOR).tee(diff).op(BR_IF, 1);
      f.addTo(end, 4);
      f.addTo(from, 4);
      f.op(BR, 0, END, END);
      f.get(diff).op(...IF);
      f.get(end).get(diff).op(CTZ).i32(3).op(SHR_U).op(ADD).set(end);
      f.op(ELSE, ...BLOCK, ...LOOP);
      f.get(end).get(matchLimit).op(GE_S).op(BR_IF, 1);
      f.get(SRC_P).get(end).op(ADD).op(...LOAD8);
      f.get(SRC_P).get(from).op(ADD).op(...LOAD8);
      f.op(NE).op(BR_IF, 1);
      f.addTo(end, 1);
      f.addTo(from, 1);
      f.op(BR, 0, END, END, END);
      f.op(END);
      f.get(ip).get(anchor).op(SUB).set(litLen);
      f.get(end).get(ip).op(SUB).set(matchLen);
      // Room for token, literals, offset and both length tails?
      f.get(op).i32(3).op(ADD).get(litLen).op(ADD);
      extra(() => f.get(litLen));
      f.op(ADD);
      extra(() => f.get(matchLen).i32(4).op(SUB));
      f.op(ADD).get(CAP).op(GT_S).op(...IF).i32(-1).op(RETURN, END);
      f.get(op).set(tokenPos);
      f.addTo(op, 1);
      f.get(litLen).i32(15).op(GE_S).op(...IF);
      f.i32(0xf0).set(token);
      f.get(litLen).i32(15).op(SUB).set(rest);
      writeLengthTail();
      f.op(ELSE);
      f.get(litLen).i32(4).op(SHL).set(token);
      f.op(END);
      emitCopy(f, OUT_P, op, SRC_P, anchor, litLen);
      f.get(op).get(litLen).op(ADD).set(op);
      f.get(OUT_P).get(op).op(ADD).get(ip).get(ref).op(SUB).op(...STORE16);
      f.addTo(op, 2);
      f.get(matchLen).i32(4).op(SUB).set(rest);
      f.get(rest).i32(15).op(GE_S).op(...IF);
      f.get(token).i32(15).op(OR).set(token);
      f.addTo(rest, -15);
      writeLengthTail();
      f.op(ELSE);
      f.get(token).get(rest).op(OR).set(token);
      f.op(END);
      f.get(OUT_P).get(tokenPos).op(ADD).get(token).op(...STORE8);
      f.get(end).tee(ip).set(anchor);
      // Index a position inside the match for the next search.
      f.get(ip).get(searchLimit).op(LE_S).op(...IF);
      f.get(SRC_P).get(ip).op(ADD).i32(2).op(SUB).op(...LOAD32);
      hashAddr();
      f.get(ip).i32(2).op(SUB).get(B).op(ADD).op(...STORE32);
      f.op(END);
      f.op(BR, 0);
    }
    f.op(END, END); // $search, $done
  }
  f.op(END);
  // Last literals.
  f.get(N).get(anchor).op(SUB).set(litLen);
  f.get(op).i32(1).op(ADD).get(litLen).op(ADD);
  extra(() => f.get(litLen));
  f.op(ADD).get(CAP).op(GT_S).op(...IF).i32(-1).op(RETURN, END);
  f.get(litLen).i32(15).op(GE_S).op(...IF);
  f.get(OUT_P).get(op).op(ADD).i32(0xf0).op(...STORE8);
  f.addTo(op, 1);
  f.get(litLen).i32(15).op(SUB).set(rest);
  writeLengthTail();
  f.op(ELSE);
  f.get(OUT_P).get(op).op(ADD).get(litLen).i32(4).op(SHL).op(...STORE8);
  f.addTo(op, 1);
  f.op(END);
  f.get(OUT_P).get(op).op(ADD).get(SRC_P).get(anchor).op(ADD).get(litLen)
    .op(...MEMORY_COPY);
  f.get(op).get(litLen).op(ADD);
  return f.encode();
}

/** Decoder results: 0, or the index of the problem in {@linkcode PROBLEMS}. */
const PROBLEMS: readonly Lz4BlockProblem[] = [
  "truncated input",
  "output overflow",
  "offset out of range",
  "output too short",
];

/**
 * `decode(src, n, out, outLen) -> 0 | 1 + problem`: the bounds-checked
 * decoder of `_lz4_block.ts`, same checks in the same order. Short copies
 * may write up to {@linkcode SLACK} bytes past a copy's end (inside the
 * memory), which later copies overwrite or the final length check refuses.
 */
function decodeBody(): number[] {
  const [SRC_P, N, OUT_P, OUT_LEN] = [0, 1, 2, 3];
  const f = new Body(4);
  const ip = f.i32Local();
  const op = f.i32Local();
  const token = f.i32Local();
  const len = f.i32Local();
  const b = f.i32Local();
  const offset = f.i32Local();
  const from = f.i32Local();
  const stop = f.i32Local();
  const fail = (code: number) => f.op(...IF).i32(code).op(RETURN, END);
  /** Reads a length extension onto `len` (1: truncated, 2: overflow). */
  const readLengthTail = () => {
    f.op(...BLOCK, ...LOOP);
    f.get(ip).get(N).op(GE_S);
    fail(1);
    f.get(SRC_P).get(ip).op(ADD).op(...LOAD8).set(b);
    f.addTo(ip, 1);
    f.get(len).get(b).op(ADD).set(len);
    f.get(b).i32(255).op(NE).op(BR_IF, 1);
    f.get(len).get(OUT_LEN).op(LE_S).op(BR_IF, 0);
    f.i32(2).op(RETURN, END, END);
  };

  f.op(...BLOCK, ...LOOP); // $done, $seq
  f.get(ip).get(N).op(GE_S);
  fail(1);
  f.get(SRC_P).get(ip).op(ADD).op(...LOAD8).set(token);
  f.addTo(ip, 1);
  f.get(token).i32(4).op(SHR_U).tee(len).i32(15).op(EQ).op(...IF);
  readLengthTail();
  f.op(END);
  f.get(len).get(N).get(ip).op(SUB).op(GT_S);
  fail(1);
  f.get(len).get(OUT_LEN).get(op).op(SUB).op(GT_S);
  fail(2);
  emitCopy(f, OUT_P, op, SRC_P, ip, len);
  f.get(ip).get(len).op(ADD).set(ip);
  f.get(op).get(len).op(ADD).set(op);
  f.get(ip).get(N).op(EQ).op(BR_IF, 1); // last sequence: literals only
  f.get(N).get(ip).op(SUB).i32(2).op(LT_S);
  fail(1);
  f.get(SRC_P).get(ip).op(ADD).op(...LOAD16).set(offset);
  f.addTo(ip, 2);
  f.get(offset).op(EQZ).get(offset).get(op).op(GT_S).op(OR);
  fail(3);
  f.get(token).i32(15).op(AND).tee(len).i32(15).op(EQ).op(...IF);
  readLengthTail();
  f.op(END);
  f.addTo(len, 4);
  f.get(len).get(OUT_LEN).get(op).op(SUB).op(GT_S);
  fail(2);
  f.get(op).get(offset).op(SUB).set(from);
  f.get(op).get(len).op(ADD).set(stop);
  f.get(offset).i32(8).op(GE_S).op(...IF);
  // Each 8-byte read lies before the write position: already decoded.
  f.op(...BLOCK, ...LOOP);
  f.get(OUT_P).get(op).op(ADD).get(OUT_P).get(from).op(ADD)
    .op(...LOAD64).op(...STORE64);
  f.addTo(op, 8);
  f.addTo(from, 8);
  f.get(op).get(stop).op(LT_S).op(BR_IF, 0);
  f.op(END, END);
  f.op(ELSE, ...BLOCK, ...LOOP);
  f.get(OUT_P).get(op).op(ADD).get(OUT_P).get(from).op(ADD).op(...LOAD8)
    .op(...STORE8);
  f.addTo(op, 1);
  f.addTo(from, 1);
  f.get(op).get(stop).op(LT_S).op(BR_IF, 0);
  f.op(END, END, END);
  f.get(stop).set(op);
  f.op(BR, 0, END, END);
  f.get(op).get(OUT_LEN).op(EQ).op(...IF).i32(0).op(RETURN, END);
  f.i32(4);
  return f.encode();
}

function moduleBytes(): Uint8Array {
  const types = [
    2,
    0x60,
    5,
    I32,
    I32,
    I32,
    I32,
    I32,
    1,
    I32,
    0x60,
    4,
    I32,
    I32,
    I32,
    I32,
    1,
    I32,
  ];
  const funcs = [2, 0, 1];
  const memory = [1, 0x00, ...uleb(PAGES)];
  const exports = [
    3,
    ...str("compress"),
    0x00,
    0,
    ...str("decode"),
    0x00,
    1,
    ...str("m"),
    0x02,
    0,
  ];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, types),
    ...section(3, funcs),
    ...section(5, memory),
    ...section(7, exports),
    ...section(10, [2, ...compressBody(), ...decodeBody()]),
  ]);
}

interface Kernel {
  compress(src: number, n: number, out: number, cap: number, b: number): number;
  decode(src: number, n: number, out: number, outLen: number): number;
  m: WebAssembly.Memory;
}

let kernel: Kernel | null | undefined;
let heap: Uint8Array | undefined;
let base = 0;

/** The kernel, or null where WebAssembly is unavailable (e.g. `--jitless`). */
function load(): Kernel | null {
  if (kernel === undefined) {
    try {
      const module = new WebAssembly.Module(moduleBytes() as BufferSource);
      kernel = new WebAssembly.Instance(module).exports as unknown as Kernel;
      heap = new Uint8Array(kernel.m.buffer);
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

/** True when the WebAssembly kernel runs (else the TypeScript one does). */
export function lz4WasmAvailable(): boolean {
  return load() !== null;
}

/**
 * Writes `src` as one LZ4 block into `out`; returns the block's length, or
 * -1 when it would not fit in `out`. Same contract and output as
 * `compressLz4Block`, which it falls back to for inputs over
 * {@linkcode WASM_MAX} bytes or without WebAssembly.
 */
export function compressLz4BlockWasm(
  src: Uint8Array,
  out: Uint8Array,
): number {
  const n = src.length;
  const k = n <= WASM_MAX && out.length <= WASM_MAX ? load() : null;
  if (k === null) return compressLz4Block(src, out);
  const mem = heap!;
  if (base > 0x7fff_ffff - n - 1) {
    mem.fill(0, 0, TABLE_BYTES);
    base = 0;
  }
  const b = base + 1;
  base = b + n;
  mem.set(src, SRC);
  const length = k.compress(SRC, n, OUT, out.length, b);
  if (length >= 0) out.set(mem.subarray(OUT, OUT + length));
  return length;
}

/**
 * Decodes LZ4 block `src` into `out`, like `decodeLz4Block` (same checks,
 * same problems), which it falls back to for sizes over
 * {@linkcode WASM_MAX} or without WebAssembly.
 */
export function decodeLz4BlockWasm(
  src: Uint8Array,
  out: Uint8Array,
): Lz4BlockProblem | undefined {
  const k = src.length <= WASM_MAX && out.length <= WASM_MAX ? load() : null;
  if (k === null) return decodeLz4Block(src, out);
  const mem = heap!;
  mem.set(src, SRC);
  const result = k.decode(SRC, src.length, OUT, out.length);
  if (result !== 0) return PROBLEMS[result - 1];
  out.set(mem.subarray(OUT, OUT + out.length));
  return undefined;
}
