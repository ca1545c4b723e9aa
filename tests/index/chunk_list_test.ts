import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import {
  CHUNK_ENTRY_BYTES,
  decodeChunks,
  encodeChunks,
  fileHashOfList,
  packChunks,
  PACKED_FROM_CHUNKS,
  PackedChunk,
} from "../../src/index/chunk_list.ts";
import { fileHashOf, fileHashOfChunks } from "../../src/index/hash.ts";

function hashOf(seed: number): Uint8Array {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setUint32(0, seed);
  out[31] = seed & 0xff;
  return out;
}

Deno.test("encodeChunks() and decodeChunks() round-trip and validate", () => {
  const chunks = [
    { offset: 0, length: 16_384, hash: hashOf(4) },
    { offset: 16_384, length: 262_144, hash: hashOf(5) },
  ];
  const bytes = encodeChunks(chunks);
  assertStrictEquals(bytes.length, 72);
  assertEquals(decodeChunks(bytes), chunks);
  assertEquals(decodeChunks(new Uint8Array(0)), []);
  assertThrows(() => decodeChunks(bytes.subarray(1)), RangeError);
  assertThrows(
    () => encodeChunks([{ offset: 5, length: 1, hash: hashOf(1) }]),
    RangeError,
  );
  assertThrows(
    () => encodeChunks([{ offset: 0, length: 1, hash: new Uint8Array(31) }]),
    RangeError,
  );
});

Deno.test("decodeChunks() packs a long list: offsets, lengths and hashes read from one buffer", () => {
  const count = PACKED_FROM_CHUNKS + 5;
  const plain = Array.from({ length: count }, (_, i) => ({
    offset: i * 7,
    length: 7,
    hash: hashOf(i),
  }));
  const bytes = encodeChunks(plain);
  assertStrictEquals(bytes.length, count * CHUNK_ENTRY_BYTES);
  const packed = decodeChunks(bytes);
  assertStrictEquals(packed.length, count);
  assert(packed[0] instanceof PackedChunk);
  for (const i of [0, 1, PACKED_FROM_CHUNKS, count - 1]) {
    assertStrictEquals(packed[i]!.offset, plain[i]!.offset);
    assertStrictEquals(packed[i]!.length, 7);
    assertEquals(packed[i]!.hash, plain[i]!.hash);
    assertStrictEquals(packed[i]!.hash.buffer, bytes.buffer);
  }
  // Storing a packed list writes its bytes as they are, without a copy.
  assertStrictEquals(encodeChunks(packed), bytes);
  // It reads like an array of the same chunks.
  assert(Array.isArray(packed));
  const plainOf = (
    c: { offset: number; length: number; hash: Uint8Array },
  ) => ({
    offset: c.offset,
    length: c.length,
    hash: c.hash,
  });
  assertEquals(packed.map(plainOf), plain);
  assertEquals([...packed].map(plainOf), plain);
  assertEquals(packed.slice(3, 5).map(plainOf), plain.slice(3, 5));
  let seen = 0;
  for (const chunk of packed) seen += chunk.length;
  packed.forEach((chunk, i) => assertStrictEquals(chunk.offset, i * 7));
  assertStrictEquals(seen, count * 7);
  assertStrictEquals(packed.reduce((sum, c) => sum + c.length, 0), count * 7);
  assertStrictEquals(packed[count], undefined);
  assertStrictEquals(packed[-1], undefined);
  assert(0 in packed && !(count in packed));
  assertThrows(() => {
    (packed as { offset: number }[])[0] = { offset: 1 };
  }, TypeError);
});

Deno.test("decodeChunks() keeps a short list as plain objects", () => {
  const chunks = decodeChunks(encodeChunks([
    { offset: 0, length: 3, hash: hashOf(1) },
  ]));
  assert(!(chunks[0] instanceof PackedChunk));
});

Deno.test("packChunks() copies lengths and hashes into one fresh buffer", () => {
  const source = new Uint8Array(32 * 3);
  for (let i = 0; i < source.length; i++) source[i] = i;
  const chunks = packChunks(3, (i) => ({
    length: 10 + i,
    hash: source.subarray(32 * i, 32 * i + 32),
  }));
  assertEquals(chunks.map((c) => [c.offset, c.length]), [[0, 10], [10, 11], [
    21,
    12,
  ]]);
  source.fill(0);
  assertStrictEquals(chunks[2]!.hash[0], 64);
  assertThrows(
    () => packChunks(1, () => ({ length: 1, hash: new Uint8Array(8) })),
    RangeError,
  );
  assertThrows(
    () => packChunks(1, () => ({ length: -1, hash: new Uint8Array(32) })),
    RangeError,
  );
});

Deno.test("fileHashOfList() and fileHashOfChunks() are fileHashOf() the hashes back to back, short or long", () => {
  for (const count of [0, 1, 2047, 2048, 2049, 5000]) {
    const chunks = Array.from({ length: count }, (_, i) => ({
      offset: i,
      length: 1,
      hash: hashOf(i * 7 + 1),
    }));
    const all = new Uint8Array(count * 32);
    chunks.forEach((c, i) => all.set(c.hash, i * 32));
    const want = fileHashOf(all);
    assertEquals(fileHashOfList(encodeChunks(chunks)), want, `${count}`);
    assertEquals(fileHashOfChunks(chunks), want, `${count} as objects`);
  }
});
