import { jobRunner } from "../../src/index/hasher_worker.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { digestBytes, type FileDigest } from "../../src/index/file_digest.ts";
import { blake3, toHex } from "../../src/index/hash.ts";
import {
  HasherPool,
  HasherPoolClosedError,
} from "../../src/index/hasher_pool.ts";
import { noise } from "../_noise.ts";
import { waitFor } from "../_wait.ts";

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
        assertEquals(
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

/** `b3sum` of `data`, fed on stdin. */
async function b3sum(data: Uint8Array): Promise<string> {
  const child = new Deno.Command("b3sum", {
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(data);
  await writer.close();
  const out = await child.output();
  assert(out.success);
  return new TextDecoder().decode(out.stdout).split(/\s+/)[0]!;
}

Deno.test({
  name: "HasherPool.hashFile() chunk and file hashes equal b3sum's",
  ignore: !B3SUM,
  async fn() {
    const { dir, files } = await writeFiles([0, 1, 1025, 64 * K + 3, 1 << 20]);
    const pool = new HasherPool({ size: 2, inlineBelow: 0 });
    const prefix = new TextEncoder().encode("dsync/1 file\n");
    try {
      for (const { path } of files) {
        const data = await Deno.readFile(path);
        const digest = await pool.hashFile(path);
        const list = new Uint8Array(prefix.length + 32 * digest.chunks.length);
        list.set(prefix);
        for (const [i, c] of digest.chunks.entries()) {
          const bytes = data.subarray(c.offset, c.offset + c.length);
          assertStrictEquals(
            toHex(c.hash),
            await b3sum(bytes),
            `${path} chunk ${i}`,
          );
          list.set(c.hash, prefix.length + 32 * i);
        }
        assertStrictEquals(toHex(digest.hash), await b3sum(list), path);
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
      const err = await assertRejects(
        () => pool.hashFile(`${dir}/missing`),
        Deno.errors.NotFound,
      );
      void err;
      assertStrictEquals(
        (await assertRejects(() => pool.hashFile(`${dir}/missing`))).name,
        "NotFound",
      );
      const f = files[0]!;
      assertEquals(
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
    await assertRejects(() => pool.hashFile(dir), Error);
    const f = files[0]!;
    assertEquals(
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
      assertEquals(
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
    assert(
      results.some((r) => r instanceof HasherPoolClosedError),
      `results: ${results}`,
    );
    await assertRejects(
      () => pool.hashFile(files[0]!.path),
      HasherPoolClosedError,
    );
    await pool.close(); // idempotent
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool defaults to one worker per core and validates its size", async () => {
  const pool = new HasherPool();
  assertStrictEquals(pool.size, Math.max(1, navigator.hardwareConcurrency));
  await pool.close();
  assertThrows(() => new HasherPool({ size: 0 }), RangeError);
  assertThrows(() => new HasherPool({ size: 1.5 }), RangeError);
  assertThrows(() => new HasherPool({ inlineBelow: -1 }), RangeError);
});

/** Waits until `cond()` holds, polling; fails after `ms`. */
function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  return waitFor(cond, what, ms, 10);
}

Deno.test("HasherPool ends workers idle for idleMs and starts them again on demand", async () => {
  const { dir, files } = await writeFiles([100 * K, 200 * K, 300 * K]);
  const pool = new HasherPool({ size: 2, inlineBelow: 0, idleMs: 20 });
  try {
    assertStrictEquals(pool.workers, 0, "workers start lazily");
    const [a, b] = await Promise.all(
      files.slice(0, 2).map((f) => pool.hashFile(f.path)),
    );
    // The last result and this line run before any timer can fire.
    assert(pool.workers >= 1, `workers: ${pool.workers}`);
    assertEquals(show(a!), show(digestBytes(files[0]!.data)));
    assertEquals(show(b!), show(digestBytes(files[1]!.data)));
    await until(() => pool.workers === 0, "idle workers to end");

    const f = files[2]!;
    assertEquals(
      show(await pool.hashFile(f.path)),
      show(digestBytes(f.data)),
    );
    assertStrictEquals(
      pool.workers,
      1,
      "a worker is started again for new work",
    );
    await until(() => pool.workers === 0, "the new worker to end");
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.warm() starts every worker at once, and the next job uses them", async () => {
  const { dir, files } = await writeFiles([100 * K]);
  const pool = new HasherPool({ size: 2, inlineBelow: 0, idleMs: Infinity });
  try {
    pool.warm();
    assertStrictEquals(pool.workers, 2);
    const f = files[0]!;
    assertEquals(show(await pool.hashFile(f.path)), show(digestBytes(f.data)));
    assertStrictEquals(
      pool.workers,
      2,
      "no worker started beyond the warm ones",
    );
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.warm() workers left without a job end after idleMs", async () => {
  const pool = new HasherPool({ size: 2, idleMs: 20 });
  try {
    pool.warm();
    assertStrictEquals(pool.workers, 2);
    await until(() => pool.workers === 0, "warm workers to end when idle");
  } finally {
    await pool.close();
  }
});

Deno.test("HasherPool.hashFile() with idleMs 0 ends only idle workers and loses no job", async () => {
  const { dir, files } = await writeFiles(
    Array.from({ length: 6 }, (_, i) => (1 << 20) + i),
  );
  const pool = new HasherPool({ size: 1, inlineBelow: 0, idleMs: 0 });
  try {
    // All at once: the worker always has a next job, so it is never idle.
    const digests = await Promise.all(files.map((f) => pool.hashFile(f.path)));
    for (const [i, d] of digests.entries()) {
      assertEquals(show(d), show(digestBytes(files[i]!.data)));
    }
    // One after another: the worker may end between files.
    for (const { path, data } of files) {
      assertEquals(
        show(await pool.hashFile(path)),
        show(digestBytes(data)),
      );
      await new Promise((r) => setTimeout(r, 0));
    }
    await until(() => pool.workers === 0, "the idle worker to end");
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool validates idleMs", async () => {
  assertThrows(() => new HasherPool({ idleMs: -1 }), RangeError);
  assertThrows(() => new HasherPool({ idleMs: NaN }), RangeError);
  const pool = new HasherPool({ idleMs: Infinity });
  assertStrictEquals(pool.workers, 0);
  await pool.close();
});

Deno.test("HasherPool.hashBytes() equals blake3() for many sizes, and leaves the input as it was", async () => {
  const pool = new HasherPool({ size: 2 });
  try {
    const sizes = [0, 1, 1023, 16 * K, 64 * K + 3, 256 * K, 1 << 20];
    // Views at an offset of a larger buffer, as received chunks are.
    const inputs = sizes.map((n, i) => {
      const whole = noise(n + 40, i + 1);
      return whole.subarray(17, 17 + n);
    });
    const copies = inputs.map((d) => d.slice());
    const expected = copies.map((d) => toHex(blake3(d)));
    // One job per piece, more than the workers' room: some wait in the queue.
    const singles = await Promise.all(inputs.map((d) => pool.hashBytes([d])));
    assertEquals(singles.map(toHex), expected);
    // All in one job, twice (the second reuses a transfer buffer).
    for (const round of [1, 2]) {
      const all = await pool.hashBytes(inputs);
      assertEquals(all.length, 32 * inputs.length);
      const each = inputs.map((_, i) =>
        toHex(all.subarray(32 * i, 32 * i + 32))
      );
      assertEquals(each, expected, `batch ${round}`);
    }
    assertEquals(await pool.hashBytes([]), new Uint8Array(0));
    assertEquals(inputs, copies, "inputs left as they were");
  } finally {
    await pool.close();
  }
});

Deno.test("HasherPool.hashOwnedBytes() hashes the pieces' own buffers: away while hashed, the same bytes back", async () => {
  const pool = new HasherPool({ size: 2 });
  try {
    const sizes = [0, 1, 1023, 16 * K, 64 * K + 3, 256 * K];
    const inputs = sizes.map((n, i) =>
      noise(n + 40, i + 1).subarray(17, 17 + n)
    );
    // Two pieces of one buffer go once and come back as one.
    const shared = noise(1000, 99);
    inputs.push(shared.subarray(0, 400), shared.subarray(400));
    const copies = inputs.map((d) => d.slice());
    const expected = copies.map((d) => toHex(blake3(d)));
    const hashing = pool.hashOwnedBytes(inputs);
    // Handed over: nothing on this thread can read or reuse them meanwhile.
    assertEquals(inputs.map((d) => d.length), inputs.map(() => 0));
    const { digest, pieces } = await hashing;
    assertEquals(
      inputs.map((_, i) => toHex(digest.subarray(32 * i, 32 * i + 32))),
      expected,
    );
    assertEquals(pieces, copies);
    assertEquals(pieces.map((p) => p.byteOffset), [
      17,
      17,
      17,
      17,
      17,
      17,
      0,
      400,
    ]);
    assertStrictEquals(pieces[6]!.buffer, pieces[7]!.buffer);
    // A buffer already away is refused before anything is sent.
    await assertRejects(
      () => pool.hashOwnedBytes(inputs.slice(0, 1)),
      TypeError,
    );
  } finally {
    await pool.close();
  }
});

Deno.test("HasherPool.hashBytes() is not kept waiting behind queued file jobs", async () => {
  const { dir, files } = await writeFiles([4 << 20, 4 << 20, 4 << 20]);
  const pool = new HasherPool({ size: 1, inlineBelow: 0 });
  try {
    const order: string[] = [];
    const fileJobs = files.map((f, i) =>
      pool.hashFile(f.path).then(() => order.push(`file ${i}`))
    );
    const data = noise(64 * K, 9);
    const bytes = pool.hashBytes([data]).then((d) => {
      order.push("bytes");
      return d;
    });
    assertEquals(toHex(await bytes), toHex(blake3(data)));
    await Promise.all(fileJobs);
    // The third file was queued (one worker holds two file jobs): the
    // chunk did not wait for it.
    assert(
      order.indexOf("bytes") < order.indexOf("file 2"),
      `order: ${order}`,
    );
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.hashBytes() rejects after close()", async () => {
  const pool = new HasherPool({ size: 1 });
  await pool.close();
  await assertRejects(
    () => pool.hashBytes([new Uint8Array(10)]),
    HasherPoolClosedError,
  );
});

Deno.test("jobRunner runs file jobs one at a time in order, other jobs at once", async () => {
  const log: string[] = [];
  const gates = new Map<number, () => void>();
  const take = jobRunner((job) => {
    log.push(`start ${job.id}`);
    return new Promise<void>((resolve) => {
      gates.set(job.id, () => {
        log.push(`end ${job.id}`);
        resolve();
      });
    });
  });
  take({ id: 1, path: "/a" });
  take({ id: 2, path: "/b", from: 0, limit: 10 });
  take({ id: 3, paths: "/c", limit: 100 });
  take({
    id: 4,
    buffers: [new ArrayBuffer(1)],
    spans: new Uint32Array([0, 0, 1]),
  });
  await waitFor(() => log.length === 3, "first starts");
  // The batch and the byte job start at once; the second file waits.
  assertEquals(log.toSorted(), ["start 1", "start 3", "start 4"]);
  gates.get(1)!();
  await waitFor(() => log.length === 5, "the second file");
  assertEquals(log.slice(3), ["end 1", "start 2"]);
  gates.get(2)!();
  gates.get(3)!();
  gates.get(4)!();
  assertEquals(log.length, 8);
});
