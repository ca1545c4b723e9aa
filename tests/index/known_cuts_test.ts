import { assert, assertEquals } from "../assert.ts";
import {
  digestBytesPacked,
  digestFilePart,
  type DigestPart,
} from "../../src/index/file_digest.ts";
import { MAX_CHUNK, MIN_CHUNK, nextCut } from "../../src/index/chunker.ts";
import {
  cutsAt,
  KnownCuts,
  type PreviousChunks,
} from "../../src/index/known_cuts.ts";
import { toHex } from "../../src/index/hash.ts";
import { HasherPool } from "../../src/index/hasher_pool.ts";
import { noise } from "../_noise.ts";

const MiB = 1 << 20;

function previousOf(data: Uint8Array): PreviousChunks {
  const d = digestBytesPacked(data);
  return { lengths: d.lengths, hashes: d.hashes };
}

function show(p: DigestPart) {
  return {
    from: p.from,
    bytes: p.bytes,
    eof: p.eof,
    lengths: [...p.lengths],
    hashes: toHex(p.hashes),
  };
}

/** Digests `path[from, from + limit)` with and without `previous`: they must agree. */
async function assertSameDigest(
  path: string,
  previous: PreviousChunks,
  from = 0,
  limit = Infinity,
): Promise<void> {
  const plain = await digestFilePart(path, from, limit);
  const known = await digestFilePart(path, from, limit, undefined, previous);
  assertEquals(show(known), show(plain), `from ${from}, limit ${limit}`);
}

async function withFile<T>(
  data: Uint8Array,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f`;
    await Deno.writeFile(path, data);
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function splice(
  data: Uint8Array,
  at: number,
  remove: number,
  insert: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(data.length - remove + insert.length);
  out.set(data.subarray(0, at));
  out.set(insert, at);
  out.set(data.subarray(at + remove), at + insert.length);
  return out;
}

const base = noise(9 * MiB + 12_345, 7);
const edits: [string, Uint8Array][] = [
  ["unchanged", base],
  ["1 MiB overwritten", splice(base, 3 * MiB + 77, MiB, noise(MiB, 8))],
  [
    "one byte flipped",
    (() => {
      const d = base.slice();
      d[5 * MiB + 3] = d[5 * MiB + 3]! ^ 1;
      return d;
    })(),
  ],
  ["bytes inserted near the start", splice(base, 1000, 0, noise(333, 9))],
  [
    "bytes removed in the middle",
    splice(base, 4 * MiB, 70_000, new Uint8Array()),
  ],
  ["appended", splice(base, base.length, 0, noise(MiB + 5, 10))],
  ["truncated inside a chunk", base.subarray(0, 6 * MiB + 1)],
  [
    "a run of zeros (max-length chunks)",
    splice(base, 2 * MiB, 3 * MiB, new Uint8Array(3 * MiB)),
  ],
  [
    "changed in the last chunk",
    splice(base, base.length - 10, 10, noise(10, 11)),
  ],
  ["emptied", new Uint8Array()],
];

for (const [name, next] of edits) {
  Deno.test(`digestFilePart() with the previous chunks gives the plain digest: ${name}`, async () => {
    await withFile(next, async (path) => {
      const previous = previousOf(base);
      for (
        const [from, limit] of [[0, Infinity], [0, 4 * MiB], [
          3 * MiB + 5,
          2 * MiB,
        ], [4 * MiB, Infinity]] as const
      ) {
        await assertSameDigest(path, previous, from, limit);
      }
    });
  });
}

Deno.test("digestFilePart() with previous chunks of zero-filled data gives the plain digest", async () => {
  const before = new Uint8Array(3 * MiB);
  const after = before.slice();
  after.set(noise(1000, 3), MiB + 17);
  await withFile(after, async (path) => {
    await assertSameDigest(path, previousOf(before));
  });
});

Deno.test("cutsAt() agrees with nextCut() at every cut of random data", () => {
  const data = noise(4 * MiB, 21);
  let at = 0;
  let checked = 0;
  while (at < data.length - MAX_CHUNK - 1) {
    const length = nextCut(data, at);
    assert(cutsAt(data, at, length), `cut of ${length} at ${at}`);
    at += length;
    checked++;
  }
  assert(checked > 20);
});

Deno.test("cutsAt() never cuts below the minimum chunk", () => {
  const data = new Uint8Array(MIN_CHUNK + 10);
  assertEquals(cutsAt(data, 0, MIN_CHUNK - 1), false);
});

Deno.test("HasherPool.hashFile() with the previous chunks gives the digest it gives without, whole and in parts", async () => {
  const next = splice(base, 2 * MiB + 5, MiB, noise(MiB, 12));
  await withFile(next, async (path) => {
    const d = digestBytesPacked(base);
    const previous = d.lengths.reduce<
      { offset: number; length: number; hash: Uint8Array }[]
    >((list, length, i) => {
      const offset = list.length === 0
        ? 0
        : list.at(-1)!.offset + list.at(-1)!.length;
      list.push({
        offset,
        length,
        hash: d.hashes.subarray(32 * i, 32 * i + 32),
      });
      return list;
    }, []);
    for (const splitFrom of [Infinity, MiB]) {
      const pool = new HasherPool({ size: 2, splitFrom });
      try {
        const plain = await pool.hashFile(path);
        const known = await pool.hashFile(path, previous);
        assertEquals(toHex(known.hash), toHex(plain.hash));
        assertEquals(
          known.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
          plain.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
        );
      } finally {
        await pool.close();
      }
    }
  });
});

Deno.test("digestFilePart() over other bytes at the same cuts gives the plain digest, and stops checking previous chunks", async () => {
  const before = new Uint8Array(6 * MiB);
  const after = new Uint8Array(6 * MiB).fill(1);
  await withFile(after, async (path) => {
    await assertSameDigest(path, previousOf(before));
  });
  const cuts = new KnownCuts(previousOf(before));
  assertEquals(cuts.chunkAt(MAX_CHUNK), 1);
  for (let i = 0; i < 9; i++) cuts.checked(false);
  assertEquals(cuts.chunkAt(MAX_CHUNK), undefined);
  assertEquals(cuts.has(MAX_CHUNK), false);
  cuts.checked(true);
  assertEquals(cuts.chunkAt(MAX_CHUNK), 1);
});
