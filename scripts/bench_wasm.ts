/**
 * The hand-emitted WebAssembly against its alternatives, side by side on
 * the same inputs (issue #17). BLAKE3 one-shot over 64 KiB chunks (1 GiB)
 * by `blake3-jit` (what `src/index/hash.ts` uses since dsync's emitted
 * BLAKE3 kernel missed the 1.3x bar end to end) and by `hash-wasm`
 * (compiled WebAssembly); LZ4 on 64 KiB chunks of source-like text by the
 * emitted kernel (`src/compress/_lz4_wasm.ts`) and the TypeScript codec.
 * The machine is shared: the variants run interleaved (A B, A B, …), and
 * the median of the runs is reported.
 *
 *   deno run -A scripts/bench_wasm.ts
 */

import { hash as jitHash } from "blake3-jit";
import { createBLAKE3 } from "hash-wasm";
import { compressLz4Block } from "../src/compress/_lz4_compress.ts";
import { decodeLz4Block } from "../src/compress/_lz4_block.ts";
import {
  compressLz4BlockWasm,
  decodeLz4BlockWasm,
} from "../src/compress/_lz4_wasm.ts";
import { Prng } from "./bench_sync/prng.ts";
import { fillSourceText, sourceLinePool } from "./bench_sync/source_text.ts";
import type { Row } from "./bench_table.ts";

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
/** Hashed per run: 16 passes over a 64 MiB buffer. */
const HASH_BUFFER = 64 * MiB;
const HASH_PASSES = 16;
const LZ4_SIZE = 64 * MiB;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function mbps(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
}

/** Median ms of each variant over `RUNS` interleaved runs. */
function interleaved(variants: readonly (() => void)[]): number[] {
  const times: number[][] = variants.map(() => []);
  for (let run = 0; run < RUNS; run++) {
    variants.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      times[i]!.push(performance.now() - t0);
    });
  }
  return times.map(median);
}

function chunksOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += CHUNK) {
    out.push(data.subarray(off, off + CHUNK));
  }
  return out;
}

/** Runs the comparison; one row per variant and a ratio row per pair. */
export async function benchWasm(): Promise<Row[]> {
  const rows: Row[] = [];
  const data = new Uint8Array(HASH_BUFFER);
  for (let off = 0; off < data.length; off += 65536) {
    crypto.getRandomValues(data.subarray(off, off + 65536));
  }
  const chunks = chunksOf(data);
  const hw = await createBLAKE3();
  const hashWasm = (c: Uint8Array) => {
    hw.init();
    hw.update(c);
    return hw.digest("binary");
  };
  // Same answers first: the variants must hash alike to be compared.
  for (const c of chunks.slice(0, 4)) {
    if (jitHash(c).join() !== hashWasm(c).join()) {
      throw new Error("BLAKE3 implementations disagree");
    }
  }
  const hashAll = (fn: (c: Uint8Array) => unknown) => () => {
    for (let p = 0; p < HASH_PASSES; p++) for (const c of chunks) fn(c);
  };
  const [jit, wasm] = interleaved([
    hashAll(jitHash),
    hashAll(hashWasm),
  ]);
  const total = HASH_BUFFER * HASH_PASSES;
  rows.push(
    { name: "BLAKE3 64 KiB, blake3-jit", value: mbps(total, jit!) },
    { name: "BLAKE3 64 KiB, hash-wasm", value: mbps(total, wasm!) },
    {
      name: "BLAKE3 blake3-jit vs hash-wasm",
      value: `${(wasm! / jit!).toFixed(2)}x`,
    },
  );

  const text = new Uint8Array(LZ4_SIZE);
  fillSourceText(text, sourceLinePool(1), new Prng(2));
  const textChunks = chunksOf(text);
  const out = new Uint8Array(CHUNK);
  const blocks = textChunks.map((c) => {
    const n = compressLz4Block(c, out);
    return out.slice(0, n);
  });
  for (let i = 0; i < 4; i++) {
    const n = compressLz4BlockWasm(textChunks[i]!, out);
    if (out.slice(0, n).join() !== blocks[i]!.join()) {
      throw new Error("LZ4 compressors disagree");
    }
  }
  const [cWasm, cTs] = interleaved([
    () => {
      for (const c of textChunks) compressLz4BlockWasm(c, out);
    },
    () => {
      for (const c of textChunks) compressLz4Block(c, out);
    },
  ]);
  const dst = new Uint8Array(CHUNK);
  const [dWasm, dTs] = interleaved([
    () => {
      for (const b of blocks) decodeLz4BlockWasm(b, dst);
    },
    () => {
      for (const b of blocks) decodeLz4Block(b, dst);
    },
  ]);
  rows.push(
    {
      name: "LZ4 compress text, emitted kernel",
      value: mbps(LZ4_SIZE, cWasm!),
    },
    { name: "LZ4 compress text, TypeScript", value: mbps(LZ4_SIZE, cTs!) },
    {
      name: "LZ4 compress emitted vs TS",
      value: `${(cTs! / cWasm!).toFixed(2)}x`,
    },
    { name: "LZ4 decode text, emitted kernel", value: mbps(LZ4_SIZE, dWasm!) },
    { name: "LZ4 decode text, TypeScript", value: mbps(LZ4_SIZE, dTs!) },
    {
      name: "LZ4 decode emitted vs TS",
      value: `${(dTs! / dWasm!).toFixed(2)}x`,
    },
  );
  return rows;
}

if (import.meta.main) {
  for (const row of await benchWasm()) console.log(`${row.name}: ${row.value}`);
}
