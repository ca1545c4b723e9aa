import { MAX_CHUNK_SIZE } from "../../src/protocol/limits.ts";
import {
  compressIfWorthwhile,
  decompressChunk,
  decompressChunkTs,
  DecompressionError,
  LZ4_AVAILABLE,
} from "../../src/sync/chunk_compression.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { noise } from "../_noise.ts";

const DECODERS = [
  ["wasm", decompressChunk],
  ["ts", decompressChunkTs],
] as const;

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

Deno.test("compressIfWorthwhile() compresses text into a bare block both decoders expand", () => {
  assert(LZ4_AVAILABLE, "lz4-wasm-nodejs should load with -A");
  for (const n of [100, 4096, 9000, 65_536, MAX_CHUNK_SIZE]) {
    const data = sourceText(n);
    const encoded = compressIfWorthwhile(data);
    assertEquals(encoded.compression, "lz4", `${n}`);
    assert(encoded.bytes.length <= n * 0.9, `${encoded.bytes.length} of ${n}`);
    for (const [name, decode] of DECODERS) {
      assertEquals(decode(encoded.bytes, n, MAX_CHUNK_SIZE), data, name);
    }
  }
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
  // Random head: the 4 KiB sample says no, even though the tail would shrink.
  const mixed = new Uint8Array(65_536);
  mixed.set(noise(8192, 3));
  assertEquals(compressIfWorthwhile(mixed).compression, "none");
});

Deno.test("decompressChunk() refuses a bomb before allocating it", () => {
  const zeros = new Uint8Array(10 * 1024 * 1024);
  const bomb = compressIfWorthwhile(zeros);
  assertEquals(bomb.compression, "lz4");
  assert(bomb.bytes.length < 64 * 1024);
  for (const [name, decode] of DECODERS) {
    // Claims 10 GB: refused on the number alone.
    assertThrows(
      () => decode(bomb.bytes, 10 * 1024 ** 3, MAX_CHUNK_SIZE),
      DecompressionError,
      "limit",
      name,
    );
    // Claims a legal size but expands past it: refused while decoding.
    assertThrows(
      () => decode(bomb.bytes, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE),
      DecompressionError,
      undefined,
      name,
    );
  }
});

Deno.test("decompressChunk() refuses malformed blocks and bad lengths", () => {
  const data = sourceText(20_000);
  const block = compressIfWorthwhile(data).bytes;
  for (const [name, decode] of DECODERS) {
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
        () => decode(bytes, raw, MAX_CHUNK_SIZE),
        DecompressionError,
        undefined,
        `${name}: ${bytes.length} bytes for ${raw}`,
      );
    }
  }
});

Deno.test("decompressChunk(): random and mutated blocks fail cleanly, and the decoders agree", () => {
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
    const [wasm, ts] = DECODERS.map(([, decode]) => {
      try {
        return decode(bytes, raw, MAX_CHUNK_SIZE);
      } catch (err) {
        assert(err instanceof DecompressionError, String(err));
        return err.message;
      }
    });
    if (ts instanceof Uint8Array) {
      decoded++;
      assertEquals(ts.length, raw);
      assertEquals(wasm, ts, `round ${round}`);
    } else if (wasm instanceof Uint8Array) {
      // The library accepts a match offset of 0 (the spec forbids it; the
      // output is garbage that the chunk hash check rejects). Nothing else.
      assertEquals(wasm.length, raw);
      assert(ts!.includes("offset out of range"), `round ${round}: ${ts}`);
    }
  }
  assert(decoded > 0, "some mutations should still decode");
  // The library still works after all that.
  assertEquals(decompressChunk(block, data.length, MAX_CHUNK_SIZE), data);
});

Deno.test("decompressChunkTs() decodes overlapping matches (runs) exactly", () => {
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
      decompressChunkTs(encoded.bytes, data.length, MAX_CHUNK_SIZE),
      data,
      unit,
    );
  }
});
