/**
 * LZ4 chunk compression benchmark: `compressIfWorthwhile` and
 * `decompressChunk` (WebAssembly kernels) and their TypeScript fallbacks,
 * over 64 KiB chunks of the sync benchmark's pseudo source text and of
 * random data (which must be skipped cheaply), in memory on one thread.
 * Each figure is the best of 3.
 *
 *   deno run -A scripts/bench_lz4.ts
 */

import {
  compressIfWorthwhile,
  decompressChunk,
  decompressChunkTs,
} from "../src/compress/chunk_compression.ts";
import { MAX_CHUNK_SIZE } from "../src/protocol/limits.ts";
import { compressLz4Block } from "../src/compress/_lz4_compress.ts";
import { Prng } from "./bench_sync/prng.ts";
import { fillSourceText, sourceLinePool } from "./bench_sync/source_text.ts";
import type { Row } from "./bench_table.ts";

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const CHUNK = 64 * 1024;

function mbps(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function chunksOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += CHUNK) {
    out.push(data.subarray(off, off + CHUNK));
  }
  return out;
}

/** Runs the LZ4 benchmarks and returns one row per figure. */
export function benchLz4(): Promise<Row[]> {
  const rows: Row[] = [];
  const text = new Uint8Array(SIZE);
  fillSourceText(text, sourceLinePool(1), new Prng(2));
  const random = new Uint8Array(SIZE);
  for (let off = 0; off < SIZE; off += 65536) {
    crypto.getRandomValues(random.subarray(off, off + 65536));
  }
  for (const [label, data] of [["text", text], ["random", random]] as const) {
    const chunks = chunksOf(data);
    let encoded = chunks.map(compressIfWorthwhile);
    const tCompress = best(3, () => {
      encoded = chunks.map(compressIfWorthwhile);
    });
    const wire = encoded.reduce((sum, e) => sum + e.bytes.length, 0);
    rows.push({
      name: `compressIfWorthwhile, ${label}, 64 KiB chunks`,
      value: `${mbps(SIZE, tCompress)}, ${(100 * wire / SIZE).toFixed(1)}%`,
    });
    if (label === "text") {
      const out = new Uint8Array(CHUNK);
      const tTs = best(3, () => {
        for (const chunk of chunks) compressLz4Block(chunk, out);
      });
      rows.push({
        name: `compressLz4Block (TypeScript fallback), ${label}`,
        value: mbps(SIZE, tTs),
      });
    }
    const lz4 = encoded.flatMap((e, i) =>
      e.compression === "lz4" ? [[e.bytes, chunks[i]!.length] as const] : []
    );
    if (lz4.length === 0) continue;
    const raw = lz4.reduce((sum, [, n]) => sum + n, 0);
    const tDecompress = best(3, () => {
      for (const [bytes, n] of lz4) decompressChunk(bytes, n, MAX_CHUNK_SIZE);
    });
    rows.push({
      name: `decompressChunk, ${label}, 64 KiB chunks`,
      value: mbps(raw, tDecompress),
    });
    const tDecompressTs = best(3, () => {
      for (const [bytes, n] of lz4) decompressChunkTs(bytes, n, MAX_CHUNK_SIZE);
    });
    rows.push({
      name: `decompressChunkTs (TypeScript fallback), ${label}`,
      value: mbps(raw, tDecompressTs),
    });
  }
  return Promise.resolve(rows);
}

if (import.meta.main) {
  for (const row of await benchLz4()) console.log(`${row.name}: ${row.value}`);
}
