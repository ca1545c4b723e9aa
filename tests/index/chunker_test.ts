import { assert, assertEquals, assertStrictEquals } from "../assert.ts";
import {
  AVG_CHUNK,
  Chunker,
  GEAR,
  MASK_L,
  MASK_S,
  MAX_CHUNK,
  MIN_CHUNK,
  nextCut,
} from "../../src/index/chunker.ts";
import { digestBytes } from "../../src/index/file_digest.ts";
import { blake3, toHex } from "../../src/index/hash.ts";
import { noise } from "../_noise.ts";

/** All cut lengths of `data` by repeated `nextCut`. */
function cutsOf(data: Uint8Array): number[] {
  const cuts: number[] = [];
  for (let off = 0; off < data.length;) {
    const len = nextCut(data, off);
    cuts.push(len);
    off += len;
  }
  return cuts;
}

/** All cut lengths of `data` fed to a `Chunker` in blocks of the given sizes (cycled). */
function streamCuts(data: Uint8Array, sizes: number[]): number[] {
  const c = new Chunker();
  const cuts: number[] = [];
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const len = sizes[i % sizes.length]!;
    cuts.push(...c.push(data.subarray(off, off + len)));
    off += len;
  }
  const last = c.finish();
  if (last > 0) cuts.push(last);
  return cuts;
}

Deno.test("GEAR is the pinned table derived from BLAKE3", () => {
  assertStrictEquals(GEAR.length, 256);
  assertStrictEquals(GEAR[0]! >>> 0, 0x152a3bda);
  assertStrictEquals(GEAR[1]! >>> 0, 0x42d7ba74);
  assertStrictEquals(GEAR[255]! >>> 0, 0x92e01388);
  assertStrictEquals(
    toHex(
      blake3(new Uint8Array(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength)),
    ),
    "120dcb66896b130292cab3707edb726c89a9d64f68c964ba9e4bc9fbc89473e6",
  );
});

Deno.test("chunker constants follow FastCDC normalized chunking level 2", () => {
  assertStrictEquals(MIN_CHUNK, 16 * 1024);
  assertStrictEquals(AVG_CHUNK, 64 * 1024);
  assertStrictEquals(MAX_CHUNK, 256 * 1024);
  const bits = (m: number) => (m >>> 0).toString(2).replaceAll("0", "").length;
  assertStrictEquals(bits(MASK_S), 18);
  assertStrictEquals(bits(MASK_L), 14);
  assertStrictEquals(MASK_S & MASK_L, MASK_L);
});

Deno.test("nextCut() gives the pinned cut points of a seeded buffer", () => {
  // Part of the format: a change here breaks chunk reuse between versions.
  assertEquals(cutsOf(noise(2 << 20, 2024)), [
    66577,
    27153,
    100077,
    66855,
    120751,
    131886,
    99335,
    69610,
    75118,
    71920,
    78383,
    51469,
    127959,
    73131,
    136126,
    71940,
    66370,
    68487,
    61160,
    98479,
    96317,
    87450,
    85184,
    71958,
    74701,
    18756,
  ]);
});

Deno.test("nextCut() is deterministic and keeps chunks within bounds", () => {
  const data = noise(4 << 20, 99);
  const a = cutsOf(data);
  assertEquals(cutsOf(data.slice()), a);
  assertStrictEquals(a.reduce((s, x) => s + x, 0), data.length);
  for (const len of a.slice(0, -1)) {
    assert(len >= MIN_CHUNK && len <= MAX_CHUNK, `chunk of ${len} bytes`);
  }
  assert(a.at(-1)! > 0 && a.at(-1)! <= MAX_CHUNK);
});

Deno.test("nextCut() averages near AVG_CHUNK on random data", () => {
  const data = noise(24 << 20, 5);
  const cuts = cutsOf(data);
  const avg = data.length / cuts.length;
  // Normalized chunking with a 16 KiB minimum lands a little above 64 KiB.
  assert(avg > 56 * 1024 && avg < 88 * 1024, `average ${avg}`);
});

Deno.test("nextCut() cuts low-entropy data at MAX_CHUNK", () => {
  const zeros = new Uint8Array(MAX_CHUNK * 3 + 5);
  assertEquals(cutsOf(zeros), [MAX_CHUNK, MAX_CHUNK, MAX_CHUNK, 5]);
});

Deno.test("nextCut() handles short input and undecided cuts", () => {
  const data = noise(MAX_CHUNK + 10, 3);
  assertStrictEquals(nextCut(new Uint8Array(0)), 0);
  assertStrictEquals(nextCut(data.subarray(0, 10)), 10);
  assertStrictEquals(nextCut(data, 0, MIN_CHUNK), MIN_CHUNK);
  // Not final: nothing can be decided below MIN_CHUNK + 1 bytes.
  assertStrictEquals(nextCut(data, 0, MIN_CHUNK, false), 0);
  const full = nextCut(data);
  assert(full >= MIN_CHUNK && full <= MAX_CHUNK);
  // With the data up to the cut plus one byte, the same cut is found.
  assertStrictEquals(nextCut(data, 0, full + 1, false), full);
  // A cut at an offset equals the cut of the same bytes at 0.
  assertStrictEquals(nextCut(data, 7, data.length), nextCut(data.subarray(7)));
});

Deno.test("Chunker gives the same cuts as nextCut() for any block sizes", () => {
  const data = noise(3 << 20, 77);
  const expected = cutsOf(data);
  for (
    const sizes of [
      [data.length],
      [1 << 20],
      [65536 + 3],
      [4093],
      [MIN_CHUNK],
      [1, 7, 100_000, 13, 250_000],
    ]
  ) {
    assertEquals(streamCuts(data, sizes), expected, `blocks ${sizes}`);
  }
  // Byte by byte on a shorter buffer.
  const small = data.subarray(0, 400_000);
  assertEquals(streamCuts(small, [1]), cutsOf(small));
});

Deno.test("Chunker reports the pending bytes and resets on finish()", () => {
  const c = new Chunker();
  assertEquals(c.push(new Uint8Array(100)), []);
  assertStrictEquals(c.pending, 100);
  assertStrictEquals(c.finish(), 100);
  assertStrictEquals(c.pending, 0);
  assertStrictEquals(c.finish(), 0);
});

Deno.test("digestBytes() chunks change only near an insertion", () => {
  const original = noise(8 << 20, 42);
  const at = 1000;
  const inserted = new Uint8Array(original.length + 100);
  inserted.set(original.subarray(0, at));
  inserted.set(noise(100, 9), at);
  inserted.set(original.subarray(at), at + 100);

  const a = digestBytes(original).chunks;
  const b = digestBytes(inserted).chunks;
  // Align from the end: all but the first one or two chunks are the same.
  let same = 0;
  while (
    same < Math.min(a.length, b.length) &&
    toHex(a[a.length - 1 - same]!.hash) === toHex(b[b.length - 1 - same]!.hash)
  ) same++;
  assert(
    a.length - same <= 2,
    `${a.length - same} of ${a.length} original chunks changed`,
  );
  assert(
    b.length - same <= 2,
    `${b.length - same} of ${b.length} new chunks changed`,
  );
  assert(same >= 50, `only ${same} chunks kept`);
  // The kept chunks moved by exactly the inserted length.
  assertStrictEquals(b.at(-1)!.offset, a.at(-1)!.offset + 100);
});
