/**
 * BLAKE3 compression kernels in WebAssembly SIMD, emitted at load time.
 *
 * `blake3-jit` only runs its SIMD code for one-shot hashes starting at chunk
 * counter 0, and its incremental hasher is pure JS (~220 MB/s here). Hashing a
 * file needs both the content-defined chunks (one-shot) and the whole file
 * (incremental, at arbitrary chunk counters), so this module provides two
 * 4-lane kernels over a caller-managed `WebAssembly.Memory`:
 *
 * - `chunks(inPtr, n, ctrLo, ctrHi, outPtr, nBlocks, lastLen, lastFlags)`:
 *   chaining values of `n` consecutive 1 KiB chunks (lane i has counter
 *   `ctrLo + i`), each of `nBlocks` blocks, the last one `lastLen` bytes long
 *   and with `lastFlags` added to CHUNK_END.
 * - `parents(inPtr, n, outPtr, flags)`: `n` parent nodes whose 64-byte blocks
 *   (left CV ‖ right CV) lie back to back; may run in place (`outPtr == inPtr`).
 *
 * Both use bytes `[MSG, MSG_END)` of the memory as scratch.
 *
 * Spec: BLAKE3 paper §2 (compression function, chunk and tree modes).
 * @module
 */

const IV = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
] as const;
const MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

import { Body, I32, section, str, uleb, WASM_HEADER } from "../wasm/mod.ts";

export const CHUNK_START = 1;
export const CHUNK_END = 2;
export const PARENT = 4;
export const ROOT = 8;

// Byte shuffles rotating each 32-bit lane right by 16 and by 8 bits.
const ROT16: number[] = [];
const ROT8: number[] = [];
for (let l = 0; l < 4; l++) {
  ROT16.push(4 * l + 2, 4 * l + 3, 4 * l, 4 * l + 1);
  ROT8.push(4 * l + 1, 4 * l + 2, 4 * l + 3, 4 * l);
}

/** Pushes message word `i` of the current block. */
type MsgWord = (i: number) => void;

/** Emits the 7 rounds on state locals `s`. */
function emitRounds(f: Body, s: number[], msg: MsgWord, tmp: number): void {
  const at = (a: number[], i: number) => a[i] as number;
  // Four independent G functions, emitted step by step side by side
  // (measured ~10% faster than one G after the other).
  type G = [a: number, b: number, c: number, d: number, x: number, y: number];
  const g4 = (gs: G[]) => {
    for (const [a, b, , , x] of gs) {
      f.get(a).get(b).add();
      msg(x);
      f.add().set(a);
    }
    for (const [a, , , d] of gs) {
      f.get(d).get(a).xor().tee(tmp).get(tmp).shuffle8(ROT16).set(d);
    }
    for (const [, , c, d] of gs) f.get(c).get(d).add().set(c);
    for (const [, b, c] of gs) {
      f.get(b).get(c).xor().tee(tmp).i32(12).shrU().get(tmp).i32(20).shl().or()
        .set(b);
    }
    for (const [a, b, , , , y] of gs) {
      f.get(a).get(b).add();
      msg(y);
      f.add().set(a);
    }
    for (const [a, , , d] of gs) {
      f.get(d).get(a).xor().tee(tmp).get(tmp).shuffle8(ROT8).set(d);
    }
    for (const [, , c, d] of gs) f.get(c).get(d).add().set(c);
    for (const [, b, c] of gs) {
      f.get(b).get(c).xor().tee(tmp).i32(7).shrU().get(tmp).i32(25).shl().or()
        .set(b);
    }
  };
  let sched = [...Array(16).keys()];
  for (let r = 0; r < 7; r++) {
    const m = (i: number) => at(sched, i);
    const S = (i: number) => at(s, i);
    g4([
      [S(0), S(4), S(8), S(12), m(0), m(1)],
      [S(1), S(5), S(9), S(13), m(2), m(3)],
      [S(2), S(6), S(10), S(14), m(4), m(5)],
      [S(3), S(7), S(11), S(15), m(6), m(7)],
    ]);
    g4([
      [S(0), S(5), S(10), S(15), m(8), m(9)],
      [S(1), S(6), S(11), S(12), m(10), m(11)],
      [S(2), S(7), S(8), S(13), m(12), m(13)],
      [S(3), S(4), S(9), S(14), m(14), m(15)],
    ]);
    sched = MSG_PERMUTATION.map((p) => at(sched, p));
  }
}

/** Transposes 4 vectors (rows = lanes) in place through 4 temporaries. */
function emitTranspose(f: Body, rows: number[], t: number[]): void {
  const [a, b, c, d] = rows as [number, number, number, number];
  const [t0, t1, t2, t3] = t as [number, number, number, number];
  f.get(a).get(b).shuffle32([0, 4, 1, 5]).set(t0);
  f.get(a).get(b).shuffle32([2, 6, 3, 7]).set(t1);
  f.get(c).get(d).shuffle32([0, 4, 1, 5]).set(t2);
  f.get(c).get(d).shuffle32([2, 6, 3, 7]).set(t3);
  f.get(t0).get(t2).shuffle32([0, 1, 4, 5]).set(a);
  f.get(t0).get(t2).shuffle32([2, 3, 6, 7]).set(b);
  f.get(t1).get(t3).shuffle32([0, 1, 4, 5]).set(c);
  f.get(t1).get(t3).shuffle32([2, 3, 6, 7]).set(d);
}

/** Stores the 4 lanes' 8-word outputs `cv` (transposed) at out + 32 * lane, for lanes < n. */
function emitStoreLanes(
  f: Body,
  cv: number[],
  t: number[],
  outPtr: number,
  n: number,
): void {
  emitTranspose(f, cv.slice(0, 4), t);
  emitTranspose(f, cv.slice(4, 8), t);
  for (let lane = 0; lane < 4; lane++) {
    if (lane > 0) f.get(n).i32(lane).op(0x4a).op(0x04, 0x40); // if n > lane (signed)
    f.get(outPtr).get(cv[lane] as number).store(32 * lane);
    f.get(outPtr).get(cv[lane + 4] as number).store(32 * lane + 16);
    if (lane > 0) f.op(0x0b);
  }
}

/**
 * Address of the 256-byte area where the transposed message words of the
 * current block are kept (the engine's memory layout reserves it). Reading
 * them from memory in the rounds leaves the registers to the state: measured
 * ~15% faster than keeping them in locals.
 */
export const MSG = 0;
/** End of the message area. */
export const MSG_END = MSG + 256;

function msgSource(f: Body, m: number[]): MsgWord {
  for (let i = 0; i < 16; i++) f.i32(0).get(m[i] as number).store(MSG + 16 * i);
  return (i) => void f.i32(0).load(MSG + 16 * i);
}

function chunksBody(): number[] {
  // params: inPtr, n, ctrLo, ctrHi, outPtr, nBlocks, lastLen, lastFlags
  const f = new Body(8);
  const [inPtr, n, ctrLo, ctrHi, outPtr, nBlocks, lastLen, lastFlags] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
  ];
  const p = [f.i32Local(), f.i32Local(), f.i32Local(), f.i32Local()];
  const blk = f.i32Local();
  const flags = f.i32Local();
  const blen = f.i32Local();
  const cv = Array.from({ length: 8 }, () => f.v128Local());
  const s = Array.from({ length: 16 }, () => f.v128Local());
  const m = Array.from({ length: 16 }, () => f.v128Local());
  const t = Array.from({ length: 4 }, () => f.v128Local());
  const tmp = f.v128Local();
  const ctr = f.v128Local();

  f.op(0x02, 0x40); // block (exit)
  f.op(0x03, 0x40); // loop (groups)
  // Lane pointers, clamped to lane 0 past n.
  f.get(inPtr).set(p[0] as number);
  for (let lane = 1; lane < 4; lane++) {
    f.get(inPtr).i32(1024 * lane).op(0x6a); // inPtr + 1024 * lane
    f.get(inPtr);
    f.get(n).i32(lane).op(0x4a); // n > lane
    f.op(0x1b); // select
    f.set(p[lane] as number);
  }
  for (let i = 0; i < 8; i++) {
    f.v128Const([IV[i]!, IV[i]!, IV[i]!, IV[i]!]).set(cv[i] as number);
  }
  f.get(ctrLo).splat().v128Const([0, 1, 2, 3]).add().set(ctr);
  f.i32(0).set(blk);

  f.op(0x03, 0x40); // loop (blocks)
  // Message words, transposed so vector w holds word w of every lane.
  for (let q = 0; q < 4; q++) {
    for (let lane = 0; lane < 4; lane++) {
      f.get(p[lane] as number).get(blk).i32(6).op(0x74).op(0x6a); // p + blk * 64
      f.load(16 * q).set(m[4 * q + lane] as number);
    }
    emitTranspose(f, m.slice(4 * q, 4 * q + 4), t);
  }
  // flags = (blk == 0 ? START : 0) | (blk == nBlocks - 1 ? END | lastFlags : 0)
  // blen = blk == nBlocks - 1 ? lastLen : 64
  f.get(blk).op(0x45); // i32.eqz -> START (1)
  f.i32(CHUNK_END).get(lastFlags).op(0x72); // END | lastFlags
  f.i32(0);
  f.get(blk).i32(1).op(0x6a).get(nBlocks).op(0x46); // blk + 1 == nBlocks
  f.op(0x1b); // select
  f.op(0x72).set(flags); // or
  f.get(lastLen).i32(64);
  f.get(blk).i32(1).op(0x6a).get(nBlocks).op(0x46);
  f.op(0x1b).set(blen);
  // State.
  for (let i = 0; i < 8; i++) f.get(cv[i] as number).set(s[i] as number);
  for (let i = 0; i < 4; i++) {
    f.v128Const([IV[i]!, IV[i]!, IV[i]!, IV[i]!]).set(s[8 + i] as number);
  }
  f.get(ctr).set(s[12] as number);
  f.get(ctrHi).splat().set(s[13] as number);
  f.get(blen).splat().set(s[14] as number);
  f.get(flags).splat().set(s[15] as number);
  emitRounds(f, s, msgSource(f, m), tmp);
  for (let i = 0; i < 8; i++) {
    f.get(s[i] as number).get(s[i + 8] as number).xor().set(cv[i] as number);
  }
  f.get(blk).i32(1).op(0x6a).tee(blk).get(nBlocks).op(0x48).op(0x0d, 0); // br_if blk < nBlocks
  f.op(0x0b); // end loop (blocks)

  emitStoreLanes(f, cv, t, outPtr, n);
  f.get(inPtr).i32(4096).op(0x6a).set(inPtr);
  f.get(outPtr).i32(128).op(0x6a).set(outPtr);
  f.get(ctrLo).i32(4).op(0x6a).set(ctrLo);
  f.get(n).i32(4).op(0x6b).tee(n).i32(0).op(0x4a).op(0x0d, 0); // br_if n > 0
  f.op(0x0b); // end loop (groups)
  f.op(0x0b); // end block
  return f.encode();
}

function parentsBody(): number[] {
  // params: inPtr, n, outPtr, flags
  const f = new Body(4);
  const [inPtr, n, outPtr, flags] = [0, 1, 2, 3];
  const p = [f.i32Local(), f.i32Local(), f.i32Local(), f.i32Local()];
  const cv = Array.from({ length: 8 }, () => f.v128Local());
  const s = Array.from({ length: 16 }, () => f.v128Local());
  const m = Array.from({ length: 16 }, () => f.v128Local());
  const t = Array.from({ length: 4 }, () => f.v128Local());
  const tmp = f.v128Local();

  f.op(0x03, 0x40); // loop (groups)
  f.get(inPtr).set(p[0] as number);
  for (let lane = 1; lane < 4; lane++) {
    f.get(inPtr).i32(64 * lane).op(0x6a);
    f.get(inPtr);
    f.get(n).i32(lane).op(0x4a);
    f.op(0x1b);
    f.set(p[lane] as number);
  }
  for (let q = 0; q < 4; q++) {
    for (let lane = 0; lane < 4; lane++) {
      f.get(p[lane] as number).load(16 * q).set(m[4 * q + lane] as number);
    }
    emitTranspose(f, m.slice(4 * q, 4 * q + 4), t);
  }
  for (let i = 0; i < 8; i++) {
    f.v128Const([IV[i]!, IV[i]!, IV[i]!, IV[i]!]).set(s[i] as number);
  }
  for (let i = 0; i < 4; i++) {
    f.v128Const([IV[i]!, IV[i]!, IV[i]!, IV[i]!]).set(s[8 + i] as number);
  }
  f.v128Const([0, 0, 0, 0]).set(s[12] as number);
  f.v128Const([0, 0, 0, 0]).set(s[13] as number);
  f.v128Const([64, 64, 64, 64]).set(s[14] as number);
  f.get(flags).splat().set(s[15] as number);
  emitRounds(f, s, msgSource(f, m), tmp);
  for (let i = 0; i < 8; i++) {
    f.get(s[i] as number).get(s[i + 8] as number).xor().set(cv[i] as number);
  }
  emitStoreLanes(f, cv, t, outPtr, n);
  f.get(inPtr).i32(256).op(0x6a).set(inPtr);
  f.get(outPtr).i32(128).op(0x6a).set(outPtr);
  f.get(n).i32(4).op(0x6b).tee(n).i32(0).op(0x4a).op(0x0d, 0); // br_if n > 0
  f.op(0x0b); // end loop
  return f.encode();
}

function moduleBytes(): Uint8Array {
  const types = [
    2, // two function types
    0x60,
    8,
    ...Array(8).fill(I32),
    0,
    0x60,
    4,
    ...Array(4).fill(I32),
    0,
  ];
  const imports = [1, ...str("e"), ...str("m"), 0x02, 0x00, ...uleb(1)];
  const funcs = [2, 0, 1];
  const exports = [2, ...str("chunks"), 0x00, 0, ...str("parents"), 0x00, 1];
  const code = [2, ...chunksBody(), ...parentsBody()];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

let compiled: WebAssembly.Module | undefined;

/** The kernels bound to one memory. */
export interface Blake3Kernels {
  chunks(
    inPtr: number,
    n: number,
    ctrLo: number,
    ctrHi: number,
    outPtr: number,
    nBlocks: number,
    lastLen: number,
    lastFlags: number,
  ): void;
  parents(inPtr: number, n: number, outPtr: number, flags: number): void;
}

/** Instantiates the kernels over `memory` (the module is compiled once per thread). */
export function instantiateKernels(memory: WebAssembly.Memory): Blake3Kernels {
  compiled ??= new WebAssembly.Module(moduleBytes() as BufferSource);
  const instance = new WebAssembly.Instance(compiled, { e: { m: memory } });
  return instance.exports as unknown as Blake3Kernels;
}
