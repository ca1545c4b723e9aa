/**
 * Hashing benchmark: `HasherPool.hashFile` over 4 files of 256 MiB of random
 * data (all at once), `digestBytes` on one thread, and BLAKE3 (`blake3()`,
 * `Blake3Hasher`) alone. Files live in a temp dir, removed afterwards; they were just
 * written, so reads come from the page cache.
 *
 *   deno run -A scripts/bench_hash.ts
 */

import { digestBytes } from "../src/index/file_digest.ts";
import { blake3, Blake3Hasher } from "../src/index/hash.ts";
import { HasherPool } from "../src/index/hasher_pool.ts";

/** One line of the benchmark report. */
export interface Row {
  name: string;
  value: string;
}

const MiB = 1024 * 1024;
const FILES = 4;
const FILE_SIZE = 256 * MiB;

function fillRandom(buf: Uint8Array): void {
  for (let off = 0; off < buf.length; off += 65536) {
    crypto.getRandomValues(
      buf.subarray(off, Math.min(buf.length, off + 65536)),
    );
  }
}

function mbps(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
}

/** Best of `runs` timings of `fn`, in ms. */
async function best(runs: number, fn: () => unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

/** Runs the hashing benchmarks and returns one row per figure. */
export async function benchHash(): Promise<Row[]> {
  const rows: Row[] = [];
  const block = new Uint8Array(16 * MiB);

  // Single thread, in memory.
  const data = new Uint8Array(FILE_SIZE);
  fillRandom(data);
  digestBytes(data.subarray(0, 16 * MiB)); // warm up
  const tDigest = await best(2, () => digestBytes(data));
  rows.push({
    name: "digestBytes, 1 thread, 256 MiB",
    value: mbps(FILE_SIZE, tDigest),
  });
  const tHash = await best(2, () => blake3(data));
  rows.push({
    name: "blake3 one-shot, 256 MiB",
    value: mbps(FILE_SIZE, tHash),
  });
  const tInc = await best(2, () => {
    const h = new Blake3Hasher();
    for (let off = 0; off < data.length; off += MiB) {
      h.update(data.subarray(off, off + MiB));
    }
    return h.digest();
  });
  rows.push({
    name: "Blake3Hasher, 1 MiB updates",
    value: mbps(FILE_SIZE, tInc),
  });

  // Pool over files.
  const dir = await Deno.makeTempDir({ prefix: "dsync-bench-hash-" });
  const pool = new HasherPool();
  try {
    const paths: string[] = [];
    for (let f = 0; f < FILES; f++) {
      const path = `${dir}/f${f}.bin`;
      paths.push(path);
      using file = await Deno.open(path, { write: true, create: true });
      for (let written = 0; written < FILE_SIZE; written += block.length) {
        fillRandom(block);
        for (let off = 0; off < block.length;) {
          off += await file.write(block.subarray(off));
        }
      }
    }
    await pool.hashFile(paths[0]!); // start the workers
    const tPool = await best(
      2,
      () => Promise.all(paths.map((p) => pool.hashFile(p))),
    );
    rows.push({
      name: `HasherPool.hashFile, ${pool.size} workers, ${FILES} x 256 MiB`,
      value: mbps(FILES * FILE_SIZE, tPool),
    });
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  for (const row of await benchHash()) {
    console.log(`${row.name.padEnd(52)} ${row.value}`);
  }
}
