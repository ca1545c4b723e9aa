/**
 * A minimal WebAssembly binary writer, for kernels emitted at load time
 * (no `.wasm` file to read, so nothing needs a file permission or has to be
 * embedded in a compiled binary): LEB128 numbers, sections, names, and a
 * function-body builder with locals and raw opcodes.
 * @module
 */

/** The 8 bytes that start every module: magic and version 1. */
export const WASM_HEADER: readonly number[] = [
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
];

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (of a 32-bit integer). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  while (true) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Value type i32. */
export const I32 = 0x7f;
/** Value type v128. */
export const V128 = 0x7b;

/** Emits one function body. Locals are numbered after the parameters. */
export class Body {
  readonly code: number[] = [];
  #nextLocal: number;
  #i32Locals = 0;
  #v128Locals = 0;
  #firstV128 = -1;

  constructor(params: number) {
    this.#nextLocal = params;
  }

  /** Declares all i32 locals first, then v128 locals. */
  i32Local(): number {
    if (this.#firstV128 >= 0) throw new Error("Declare i32 locals first");
    this.#i32Locals++;
    return this.#nextLocal++;
  }

  v128Local(): number {
    if (this.#firstV128 < 0) this.#firstV128 = this.#nextLocal;
    this.#v128Locals++;
    return this.#nextLocal++;
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32(n: number): this {
    return this.op(0x41, ...sleb(n));
  }
  /** `local += k` on an i32 local. */
  addTo(local: number, k: number): this {
    return this.get(local).i32(k).op(0x6a).set(local); // i32.add
  }
  simd(opcode: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...imm);
  }
  load(offset: number): this {
    return this.simd(0x00, 0, ...uleb(offset)); // v128.load align=1
  }
  store(offset: number): this {
    return this.simd(0x0b, 0, ...uleb(offset)); // v128.store align=1
  }
  splat(): this {
    return this.simd(0x11); // i32x4.splat
  }
  v128Const(words: readonly number[]): this {
    const bytes: number[] = [];
    for (const w of words) {
      bytes.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);
    }
    return this.simd(0x0c, ...bytes);
  }
  /** i8x16.shuffle with the lanes given as 32-bit lane indexes (0–7). */
  shuffle32(lanes: readonly number[]): this {
    const bytes: number[] = [];
    for (const l of lanes) bytes.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    return this.simd(0x0d, ...bytes);
  }
  shuffle8(bytes: readonly number[]): this {
    return this.simd(0x0d, ...bytes);
  }
  add(): this {
    return this.simd(0xae); // i32x4.add
  }
  xor(): this {
    return this.simd(0x51);
  }
  or(): this {
    return this.simd(0x50);
  }
  shl(): this {
    return this.simd(0xab);
  }
  shrU(): this {
    return this.simd(0xad);
  }

  encode(): number[] {
    const decls: number[] = [];
    let groups = 0;
    if (this.#i32Locals > 0) {
      groups++;
      decls.push(...uleb(this.#i32Locals), I32);
    }
    if (this.#v128Locals > 0) {
      groups++;
      decls.push(...uleb(this.#v128Locals), V128);
    }
    const body = [...uleb(groups), ...decls, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** A module section: id, size, content. */
export function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A length-prefixed UTF-8 name. */
export function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}
