import assert from "node:assert/strict";
import { digestBytes, type FileDigest } from "../../src/index/file_digest.ts";
import { blake3, toHex } from "../../src/index/hash.ts";
import {
  HasherPool,
  HasherPoolClosedError,
} from "../../src/index/hasher_pool.ts";
import { noise } from "../_noise.ts";

function show(d: FileDigest) {
  return {
    size: d.size,
    hash: toHex(d.hash),
    chunks: d.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
  };
}

const K = 1024;
const SIZES = [
  0,
  1,
  16 * K - 1,
  16 * K,
  64 * K,
  256 * K + 1,
  3 * K * K + 5,
  (6 << 20) + 77,
];

/** Writes one file per size into a fresh temp dir; returns the dir and the files. */
async function writeFiles(
  sizes: number[],
): Promise<{ dir: string; files: { path: string; data: Uint8Array }[] }> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-hasher-" });
  const files = [];
  for (const [i, size] of sizes.entries()) {
    const data = noise(size, i * 7919 + size + 1);
    const path = `${dir}/f${i}.bin`;
    await Deno.writeFile(path, data);
    files.push({ path, data });
  }
  return { dir, files };
}

function hasB3sum(): boolean {
  try {
    return new Deno.Command("b3sum", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}
const B3SUM = hasB3sum();
if (!B3SUM) {
  console.log(
    "Skipping the b3sum comparison: `b3sum` is not installed (apt-get install b3sum)",
  );
}

Deno.test("HasherPool.hashFile() equals digestBytes() for files of many sizes", async () => {
  const { dir, files } = await writeFiles(SIZES);
  // inlineBelow 0: every file goes through a worker.
  const pools = [
    new HasherPool({ size: 2, inlineBelow: 0 }),
    new HasherPool({ size: 1 }),
  ];
  try {
    for (const pool of pools) {
      for (const { path, data } of files) {
        assert.deepStrictEqual(
          show(await pool.hashFile(path)),
          show(digestBytes(data)),
          `${data.length} bytes`,
        );
      }
    }
  } finally {
    for (const pool of pools) await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "HasherPool.hashFile() file hashes equal b3sum's",
  ignore: !B3SUM,
  async fn() {
    const { dir, files } = await writeFiles([
      0,
      1,
      1025,
      64 * K + 3,
      (5 << 20) + 1,
    ]);
    const pool = new HasherPool({ size: 2, inlineBelow: 0 });
    try {
      const out = await new Deno.Command("b3sum", {
        args: files.map((f) => f.path),
      }).output();
      assert.ok(out.success);
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      for (const [i, { path }] of files.entries()) {
        const [expected, name] = lines[i]!.split(/\s+/);
        assert.equal(name, path);
        assert.equal(toHex((await pool.hashFile(path)).hash), expected, path);
      }
    } finally {
      await pool.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("HasherPool.hashFile() rejects a missing file with NotFound and keeps working", async () => {
  const { dir, files } = await writeFiles([100 * K]);
  for (const inlineBelow of [0, 64 * K]) {
    const pool = new HasherPool({ size: 1, inlineBelow });
    try {
      const err = await assert.rejects(
        pool.hashFile(`${dir}/missing`),
        Deno.errors.NotFound,
      );
      void err;
      await assert.rejects(
        pool.hashFile(`${dir}/missing`),
        (e: Error) => e.name === "NotFound",
      );
      const f = files[0]!;
      assert.deepStrictEqual(
        show(await pool.hashFile(f.path)),
        show(digestBytes(f.data)),
      );
    } finally {
      await pool.close();
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("HasherPool.hashFile() rejects a directory and keeps working", async () => {
  const { dir, files } = await writeFiles([300 * K]);
  const pool = new HasherPool({ size: 1, inlineBelow: 0 });
  try {
    await assert.rejects(pool.hashFile(dir), Error);
    const f = files[0]!;
    assert.deepStrictEqual(
      show(await pool.hashFile(f.path)),
      show(digestBytes(f.data)),
    );
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.hashFile() digests 20 files at once", async () => {
  const sizes = Array.from(
    { length: 20 },
    (_, i) => [0, 10, 20 * K, 70 * K, 300 * K, 1100 * K][i % 6]! + i,
  );
  const { dir, files } = await writeFiles(sizes);
  const pool = new HasherPool({ size: 2 });
  try {
    const digests = await Promise.all(files.map((f) => pool.hashFile(f.path)));
    for (const [i, d] of digests.entries()) {
      assert.deepStrictEqual(
        show(d),
        show(digestBytes(files[i]!.data)),
        `file ${i}`,
      );
    }
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.close() rejects queued jobs and later calls", async () => {
  const { dir, files } = await writeFiles([
    2 << 20,
    2 << 20,
    2 << 20,
    2 << 20,
    2 << 20,
    2 << 20,
  ]);
  const pool = new HasherPool({ size: 1, inlineBelow: 0 });
  try {
    const jobs = files.map((f) =>
      pool.hashFile(f.path).then(() => "done", (e) => e)
    );
    // Let the jobs reach the queue, then close with some still waiting.
    await new Promise((r) => setTimeout(r, 0));
    await pool.close();
    const results = await Promise.all(jobs);
    assert.ok(
      results.some((r) => r instanceof HasherPoolClosedError),
      `results: ${results}`,
    );
    await assert.rejects(pool.hashFile(files[0]!.path), HasherPoolClosedError);
    await pool.close(); // idempotent
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool defaults to one worker per core and validates its size", async () => {
  const pool = new HasherPool();
  assert.equal(pool.size, Math.max(1, navigator.hardwareConcurrency));
  await pool.close();
  assert.throws(() => new HasherPool({ size: 0 }), RangeError);
  assert.throws(() => new HasherPool({ size: 1.5 }), RangeError);
  assert.throws(() => new HasherPool({ inlineBelow: -1 }), RangeError);
});

Deno.test("HasherPool.stream() digests a stream longer than its ring, in order", async () => {
  const pool = new HasherPool({ size: 2 });
  try {
    const data = noise(11 << 20, 77);
    const a = pool.stream();
    const b = pool.stream();
    const pieces = [1, 4095, 1 << 20, 3 << 20, 5 << 20];
    let off = 0;
    for (const n of pieces) {
      await a.update(data.subarray(off, off + n));
      off += n;
    }
    await a.update(data.subarray(off));
    await b.update(data.subarray(0, 10));
    assert.deepEqual(await a.digest(), blake3(data));
    assert.deepEqual(await b.digest(), blake3(data.subarray(0, 10)));
    const c = pool.stream();
    assert.deepEqual(await c.digest(), blake3(new Uint8Array(0)));
    const d = pool.stream();
    await d.update(data.subarray(0, 1000));
    d.cancel();
    d.cancel();
  } finally {
    await pool.close();
  }
});

Deno.test("HasherPool.close() fails the streams in progress", async () => {
  const pool = new HasherPool({ size: 1 });
  const s = pool.stream();
  await s.update(noise(1000, 3));
  const done = s.digest();
  await pool.close();
  await assert.rejects(done, HasherPoolClosedError);
  assert.throws(() => pool.stream(), HasherPoolClosedError);
});
