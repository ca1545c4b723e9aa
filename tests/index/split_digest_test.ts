import { assert, assertEquals } from "../assert.ts";
import {
  digestBytes,
  digestFilePart,
  type DigestPart,
  type FileDigest,
  unpackDigest,
} from "../../src/index/file_digest.ts";
import { toHex } from "../../src/index/hash.ts";
import { HasherPool } from "../../src/index/hasher_pool.ts";
import {
  joinDigestParts,
  PART_OVERLAP,
  partStarts,
  SPLIT_FROM,
} from "../../src/index/split_digest.ts";
import { noise } from "../_noise.ts";

const MiB = 1 << 20;

function show(d: FileDigest) {
  return {
    size: d.size,
    hash: toHex(d.hash),
    chunks: d.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
  };
}

/** The parts of the file at `path` as the pool cuts them for `count` workers. */
async function partsOf(
  path: string,
  size: number,
  count: number,
  overlap = PART_OVERLAP,
): Promise<DigestPart[]> {
  const starts = partStarts(size, count);
  return await Promise.all(starts.map((from, k) => {
    const next = starts[k + 1];
    return digestFilePart(
      path,
      from,
      next === undefined ? Infinity : next - from + overlap,
    );
  }));
}

Deno.test("joinDigestParts() gives the one-pass digest for 2, 3 and 5 parts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = noise(24 * MiB + 12_345, 3);
    const path = `${dir}/f`;
    await Deno.writeFile(path, data);
    const whole = show(digestBytes(data));
    for (const count of [2, 3, 5]) {
      const joined = joinDigestParts(await partsOf(path, data.length, count));
      assert(joined !== undefined, `${count} parts did not join`);
      assertEquals(show(unpackDigest(joined)), whole, `${count} parts`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("joinDigestParts() refuses parts that share no cut (a run of zeros), and parts missing the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Zeros are cut only at the maximum chunk length, counted from wherever
    // each part started: the parts never meet.
    const zeros = new Uint8Array(8 * MiB);
    const path = `${dir}/zeros`;
    await Deno.writeFile(path, zeros);
    const start = 3 * MiB + 1;
    const parts = [
      await digestFilePart(path, 0, start + MiB),
      await digestFilePart(path, start, Infinity),
    ];
    assertEquals(joinDigestParts(parts), undefined);
    const data = noise(4 * MiB, 4);
    await Deno.writeFile(`${dir}/f`, data);
    const cut = await partsOf(`${dir}/f`, data.length, 2, 512 * 1024);
    assert(!cut[0]!.eof);
    assertEquals(joinDigestParts([cut[0]!]), undefined, "no end");
    assertEquals(joinDigestParts([cut[1]!]), undefined, "no start");
    // An overlap too short to reach the next part's first cut.
    const short = await partsOf(`${dir}/f`, data.length, 2, 0);
    const joined = joinDigestParts(short);
    if (joined !== undefined) {
      assertEquals(show(unpackDigest(joined)), show(digestBytes(data)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HasherPool.hashFile() digests a big file in parts on two workers, and a run of zeros in one pass, both as one pass would", async () => {
  const dir = await Deno.makeTempDir();
  const pool = new HasherPool({ size: 2, idleMs: Infinity });
  try {
    const data = noise(SPLIT_FROM + 3 * MiB + 7, 5);
    await Deno.writeFile(`${dir}/big`, data);
    assertEquals(
      show(await pool.hashFile(`${dir}/big`)),
      show(digestBytes(data)),
    );
    const zeros = new Uint8Array(SPLIT_FROM + 5);
    await Deno.writeFile(`${dir}/zeros`, zeros);
    assertEquals(
      show(await pool.hashFile(`${dir}/zeros`)),
      show(digestBytes(zeros)),
    );
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});
