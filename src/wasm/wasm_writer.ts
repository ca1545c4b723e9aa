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
function sleb(n: number): number[] {
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

/** Emits one function body. Locals are numbered after the parameters. */
export class Body {
  readonly code: number[] = [];
  #nextLocal: number;
  #i32Locals = 0;

  constructor(params: number) {
    this.#nextLocal = params;
  }

  /** Declares one more i32 local and returns its index. */
  i32Local(): number {
    this.#i32Locals++;
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

  encode(): number[] {
    const decls = this.#i32Locals > 0
      ? [...uleb(1), ...uleb(this.#i32Locals), I32]
      : [...uleb(0)];
    const body = [...decls, ...this.code, 0x0b];
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
