/**
 * The emitted LZ4 kernel (`src/compress/_lz4_wasm.ts`) against an
 * independent implementation, lz4js: blocks we write decode with lz4js to
 * the input, and blocks lz4js writes decode with ours to the input, on
 * pseudo-random inputs of every size from 0 to 300 bytes (the format's end
 * rules), the sizes around each power of two and random sizes up to 1 MiB
 * (the kernel covers chunks up to 256 KiB; larger ones take the TypeScript
 * codec), each both compressible and incompressible.
 */
import lz4js from "lz4js";
import {
  compressLz4BlockWasm,
  decodeLz4BlockWasm,
} from "../../src/compress/_lz4_wasm.ts";
import { lz4BlockBound } from "../../src/compress/_lz4_compress.ts";
import { assert, assertEquals } from "../assert.ts";
import { noise } from "../_noise.ts";

const MiB = 1024 * 1024;

interface Lz4js {
  compressBound(n: number): number;
  compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
  decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
}
const reference = lz4js as unknown as Lz4js;

function sizes(seed: number): number[] {
  const out = new Set<number>();
  for (let n = 0; n <= 300; n++) out.add(n);
  for (let p = 9; p <= 20; p++) {
    for (const d of [-1, 0, 1]) out.add(Math.min(MiB, (1 << p) + d));
  }
  const r = noise(60 * 4, seed);
  for (let i = 0; i < 60; i++) {
    out.add(new DataView(r.buffer, i * 4, 4).getUint32(0) % (MiB + 1));
  }
  return [...out].sort((a, b) => a - b);
}

/** Text-like bytes: words from a small vocabulary, so LZ4 finds matches. */
function compressible(n: number, seed: number): Uint8Array {
  const words = ["sync ", "chunk ", "peer ", "index ", "0123 ", "\n", "() "];
  const r = noise(n, seed);
  const out = new Uint8Array(n);
  let i = 0;
  for (let k = 0; i < n; k++) {
    const w = words[r[k % n]! % words.length]!;
    for (let j = 0; j < w.length && i < n; j++) out[i++] = w.charCodeAt(j);
  }
  return out;
}

Deno.test("LZ4 blocks of the emitted kernel and of lz4js decode with each other to the input", () => {
  let theirsDecoded = 0;
  for (const n of sizes(9)) {
    for (const data of [compressible(n, n + 1), noise(n, n + 2)]) {
      const ours = new Uint8Array(lz4BlockBound(n));
      const length = compressLz4BlockWasm(data, ours);
      assert(length >= 0, `our block of ${n} bytes fits its bound`);
      const back = new Uint8Array(n);
      const end = reference.decompressBlock(ours, back, 0, length, 0);
      assertEquals(end, n, `lz4js decodes our ${n}-byte block whole`);
      assertEquals(back, data, `lz4js decodes our ${n}-byte block`);

      const theirs = new Uint8Array(reference.compressBound(n));
      const tLength = reference.compressBlock(
        data,
        theirs,
        0,
        n,
        new Uint32Array(1 << 16),
      );
      if (tLength <= 0) continue; // lz4js stores incompressible data raw
      const decoded = new Uint8Array(n);
      assertEquals(
        decodeLz4BlockWasm(theirs.subarray(0, tLength), decoded),
        undefined,
        `we decode lz4js's ${n}-byte block`,
      );
      assertEquals(decoded, data, `we decode lz4js's ${n}-byte block`);
      theirsDecoded++;
    }
  }
  assert(theirsDecoded > 300, `only ${theirsDecoded} lz4js blocks decoded`);
});
