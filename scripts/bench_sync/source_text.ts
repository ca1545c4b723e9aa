/**
 * Pseudo source code: lines of a TypeScript-like language built from a
 * seeded vocabulary, so that a folder of it compresses about like real code
 * without shipping any. A pool of distinct lines is made once per seed and
 * files are random walks through it: lines repeat within LZ4's 64 KiB
 * window (the `lz4` CLI compresses it ~3.6×, independent 64 KiB blocks
 * ~2.6×), but runs of lines do not, so content-defined chunks do not dedupe.
 * @module
 */
import { Prng } from "./prng.ts";

const KEYWORDS = [
  "const",
  "let",
  "return",
  "await",
  "export",
  "import",
  "function",
  "async",
  "if",
  "else",
  "for",
  "while",
  "new",
  "throw",
  "typeof",
];
const TYPES = [
  "string",
  "number",
  "boolean",
  "Uint8Array",
  "Promise<void>",
  "Record<string, number>",
  "FileRecord",
  "Chunk",
  "Peer",
  "unknown",
];
const SYLLABLES = [
  "ab",
  "be",
  "ca",
  "de",
  "fi",
  "go",
  "ha",
  "in",
  "jo",
  "ke",
  "lo",
  "ma",
  "ne",
  "or",
  "pu",
  "qui",
  "ra",
  "se",
  "ti",
  "un",
  "ve",
  "wa",
  "xe",
  "yo",
  "zu",
  "st",
  "tr",
  "ch",
  "th",
  "sh",
];
const WORDS = 300;
const POOL_LINES = 768;

function word(rng: Prng): string {
  let w = "";
  const n = 2 + rng.below(3);
  for (let i = 0; i < n; i++) w += SYLLABLES[rng.below(SYLLABLES.length)];
  return w;
}

function pick<T>(rng: Prng, list: readonly T[]): T {
  return list[rng.below(list.length)]!;
}

/** Makes the distinct lines (as UTF-8, each ending in "\n") for a seed. */
export function sourceLinePool(seed: number): Uint8Array[] {
  const rng = new Prng(seed);
  const words = Array.from({ length: WORDS }, () => word(rng));
  const ident = () => {
    const a = pick(rng, words);
    if (rng.below(3) !== 0) return a;
    const b = pick(rng, words);
    return a + b[0]!.toUpperCase() + b.slice(1);
  };
  const num = () => String(rng.below(rng.below(2) === 0 ? 100 : 100_000));
  const comment = () => {
    const n = 4 + rng.below(8);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(pick(rng, words));
    return parts.join(" ");
  };
  const encoder = new TextEncoder();
  const pool: Uint8Array[] = [];
  for (let i = 0; i < POOL_LINES; i++) {
    const indent = "  ".repeat(rng.below(4));
    let line: string;
    switch (rng.below(10)) {
      case 0:
        line = `${indent}const ${ident()} = ${ident()}(${ident()}, ${num()});`;
        break;
      case 1:
        line = `${indent}if (${ident()}.${ident()} > ${num()}) {`;
        break;
      case 2:
        line = `${indent}}`;
        break;
      case 3:
        line = `${indent}return ${ident()}.${ident()}(${ident()});`;
        break;
      case 4:
        line = `${indent}// ${comment()}`;
        break;
      case 5:
        line = `${indent}${ident()}.${ident()} = "${comment()}";`;
        break;
      case 6:
        line = `export function ${ident()}(${ident()}: ${
          pick(rng, TYPES)
        }, ${ident()}: ${pick(rng, TYPES)}): ${pick(rng, TYPES)} {`;
        break;
      case 7:
        line = "";
        break;
      case 8:
        line = `${indent}${
          pick(rng, KEYWORDS)
        } ${ident()} = await ${ident()}.${ident()}();`;
        break;
      default:
        line =
          `${indent}for (const ${ident()} of ${ident()}) ${ident()} += ${num()};`;
    }
    pool.push(encoder.encode(line + "\n"));
  }
  return pool;
}

/**
 * Fills `buf` with whole lines from `pool` chosen by `rng`; the tail that no
 * whole line fits is padded with spaces and a final newline.
 */
export function fillSourceText(
  buf: Uint8Array,
  pool: readonly Uint8Array[],
  rng: Prng,
): void {
  let off = 0;
  for (;;) {
    const line = pool[rng.below(pool.length)]!;
    if (off + line.length > buf.length) break;
    buf.set(line, off);
    off += line.length;
  }
  buf.fill(0x20, off);
  if (buf.length > 0) buf[buf.length - 1] = 0x0a;
}
