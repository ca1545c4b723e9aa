import { MAX_CHUNK_SIZE } from "../../src/protocol/limits.ts";
import {
  compressIfWorthwhile,
  decompressChunk,
  decompressChunkTs,
  DecompressionError,
} from "../../src/compress/chunk_compression.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { noise } from "../_noise.ts";

/** Source-like text: compressible, varied. */
function sourceText(n: number): Uint8Array {
  const words = [
    "const",
    "function",
    "return",
    "await",
    "import",
    "export",
    "{",
    "}",
    "(x)",
    ";\n",
    "  ",
    "value",
    "record",
  ];
  let s = "";
  let x = 12345;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += words[x % words.length] + (x % 3 === 0 ? " " : "");
  }
  return new TextEncoder().encode(s.slice(0, n));
}

Deno.test("compressIfWorthwhile() compresses text into a bare block decompressChunk() expands", () => {
  for (const n of [100, 4096, 9000, 65_536, MAX_CHUNK_SIZE]) {
    const data = sourceText(n);
    const encoded = compressIfWorthwhile(data);
    assertEquals(encoded.compression, "lz4", `${n}`);
    assert(encoded.bytes.length <= n * 0.9, `${encoded.bytes.length} of ${n}`);
    assertEquals(decompressChunk(encoded.bytes, n, MAX_CHUNK_SIZE), data);
  }
});

Deno.test("compressIfWorthwhile() returns a block that later calls do not overwrite", () => {
  const a = sourceText(30_000);
  const b = new Uint8Array(30_000).fill(7);
  const first = compressIfWorthwhile(a);
  const copy = first.bytes.slice();
  compressIfWorthwhile(b);
  assertEquals(first.bytes, copy);
  assertEquals(decompressChunk(first.bytes, a.length, MAX_CHUNK_SIZE), a);
});

Deno.test("compressIfWorthwhile() sends incompressible and tiny data as is", () => {
  for (
    const data of [
      noise(65_536, 1),
      noise(5000, 2),
      sourceText(63),
      new Uint8Array(0),
    ]
  ) {
    const encoded = compressIfWorthwhile(data);
    assertEquals(encoded.compression, "none");
    assert(encoded.bytes === data);
  }
  // Mostly random, a compressible tail too short to save 10%.
  const mixed = noise(65_536, 3);
  mixed.fill(0, 60_000);
  assertEquals(compressIfWorthwhile(mixed).compression, "none");
  // A random head does not stop a compressible rest from being compressed.
  const head = new Uint8Array(65_536);
  head.set(noise(8192, 4));
  const encoded = compressIfWorthwhile(head);
  assertEquals(encoded.compression, "lz4");
  assertEquals(
    decompressChunk(encoded.bytes, head.length, MAX_CHUNK_SIZE),
    head,
  );
});

Deno.test("decompressChunk() refuses a bomb before allocating it", () => {
  const zeros = new Uint8Array(10 * 1024 * 1024);
  const bomb = compressIfWorthwhile(zeros);
  assertEquals(bomb.compression, "lz4");
  assert(bomb.bytes.length < 64 * 1024);
  // Claims 10 GB: refused on the number alone.
  assertThrows(
    () => decompressChunk(bomb.bytes, 10 * 1024 ** 3, MAX_CHUNK_SIZE),
    DecompressionError,
    "limit",
  );
  // Claims a legal size but expands past it: refused while decoding.
  assertThrows(
    () => decompressChunk(bomb.bytes, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE),
    DecompressionError,
  );
});

Deno.test("decompressChunk() refuses malformed blocks and bad lengths", () => {
  const data = sourceText(20_000);
  const block = compressIfWorthwhile(data).bytes;
  {
    const bad: [Uint8Array, number][] = [
      [block, 0],
      [block, -1],
      [block, 1.5],
      [block, MAX_CHUNK_SIZE + 1],
      [block, data.length - 1], // output overflow
      [block, data.length + 1], // output too short
      [block.subarray(0, block.length - 3), data.length], // truncated
      [new Uint8Array(0), 10],
      [new Uint8Array([0x10, 65, 0xe8, 0x03, 0x50, 1, 2, 3, 4, 5]), 100], // offset before start
      [new Uint8Array([0x00, 0x00, 0x00]), 4],
      [new Uint8Array([0xf0, 255, 255, 255]), 1000], // literal run past the end
    ];
    for (const [bytes, raw] of bad) {
      assertThrows(
        () => decompressChunk(bytes, raw, MAX_CHUNK_SIZE),
        DecompressionError,
        undefined,
        `${bytes.length} bytes for ${raw}`,
      );
    }
  }
});

Deno.test("decompressChunk(): random and mutated blocks fail cleanly, as with the TypeScript decoder", () => {
  const data = sourceText(8_000);
  const block = compressIfWorthwhile(data).bytes;
  let seed = 99;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  let decoded = 0;
  for (let round = 0; round < 600; round++) {
    let bytes: Uint8Array;
    let raw: number;
    if (round % 2 === 0) {
      bytes = noise(1 + (rand() % 80), rand());
      raw = 1 + (rand() % 400);
    } else {
      bytes = block.slice();
      for (let k = 0; k < 1 + (rand() % 3); k++) {
        bytes[rand() % bytes.length] = rand() & 0xff;
      }
      raw = data.length;
    }
    const [wasm, ts] = [decompressChunk, decompressChunkTs].map((decode) => {
      try {
        return decode(bytes, raw, MAX_CHUNK_SIZE);
      } catch (err) {
        assert(err instanceof DecompressionError, String(err));
        return err.message;
      }
    });
    assertEquals(wasm, ts, `round ${round}`);
    if (ts instanceof Uint8Array) {
      assertEquals(ts.length, raw);
      decoded++;
    }
  }
  assert(decoded > 0, "some mutations should still decode");
  assertEquals(decompressChunk(block, data.length, MAX_CHUNK_SIZE), data);
});

Deno.test("decompressChunk() decodes overlapping matches (runs) exactly", () => {
  for (
    const unit of [
      "a",
      "ab",
      "abcdefgh",
      "abcdefghijk",
      "0123456789abcdefghijklmnopqrstuvwxyz0123",
    ]
  ) {
    const data = new TextEncoder().encode(
      unit.repeat(Math.ceil(5000 / unit.length)).slice(0, 5000),
    );
    const encoded = compressIfWorthwhile(data);
    assertEquals(encoded.compression, "lz4", unit);
    assertEquals(
      decompressChunk(encoded.bytes, data.length, MAX_CHUNK_SIZE),
      data,
      unit,
    );
  }
});

Deno.test("decompressChunk() decodes into the caller's buffer when given one", () => {
  const text = sourceText(64 * 1024);
  const encoded = compressIfWorthwhile(text);
  if (encoded.compression !== "lz4") return; // no LZ4 on this platform
  const pooled = new Uint8Array(80 * 1024).fill(0xee);
  const out = decompressChunk(
    encoded.bytes,
    text.length,
    MAX_CHUNK_SIZE,
    () => pooled,
  );
  assert(out.buffer === pooled.buffer);
  assertEquals(out, text);
  assertThrows(
    () =>
      decompressChunk(
        encoded.bytes,
        text.length,
        MAX_CHUNK_SIZE,
        () => new Uint8Array(100),
      ),
    RangeError,
  );
});
