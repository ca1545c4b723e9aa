import {
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { createBLAKE3 } from "hash-wasm";
import { MAX_CHUNK, MIN_CHUNK, nextCut } from "../../src/index/chunker.ts";
import {
  digestBytes,
  digestFile,
  type FileDigest,
  unpackDigest,
} from "../../src/index/file_digest.ts";
import { toHex } from "../../src/index/hash.ts";
import { noise } from "../_noise.ts";

const PREFIX = new TextEncoder().encode("dsync/1 file\n");

// An independent BLAKE3 (dsync hashes with blake3-jit).
const independent = await createBLAKE3();
function referenceHash(data: Uint8Array): Uint8Array {
  return independent.init().update(data).digest("binary");
}

/** The file hash the obvious way: the prefix, then every chunk hash. */
function referenceFileHash(chunkHashes: Uint8Array[]): Uint8Array {
  const input = new Uint8Array(PREFIX.length + 32 * chunkHashes.length);
  input.set(PREFIX);
  chunkHashes.forEach((h, i) => input.set(h, PREFIX.length + 32 * i));
  return referenceHash(input);
}

/** The digest computed the slow, obvious way with an independent BLAKE3. */
function reference(data: Uint8Array): FileDigest {
  const chunks = [];
  for (let offset = 0; offset < data.length;) {
    const length = nextCut(data, offset);
    chunks.push({
      offset,
      length,
      hash: referenceHash(data.subarray(offset, offset + length)),
    });
    offset += length;
  }
  return {
    size: data.length,
    hash: referenceFileHash(chunks.map((c) => c.hash)),
    chunks,
  };
}

function show(d: FileDigest) {
  return {
    size: d.size,
    hash: toHex(d.hash),
    chunks: d.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
  };
}

const SIZES = [
  0,
  1,
  1023,
  1024,
  1025,
  MIN_CHUNK - 1,
  MIN_CHUNK,
  MIN_CHUNK + 1,
  65536,
  MAX_CHUNK,
  MAX_CHUNK + 1,
  (2 << 20) - 1, // around the 2 MiB read block
  2 << 20,
  (2 << 20) + MAX_CHUNK + 7,
  (5 << 20) + 123,
];

Deno.test("digestBytes() equals chunk-by-chunk hashing with an independent BLAKE3", () => {
  for (const size of SIZES) {
    const data = noise(size, size + 1);
    assertEquals(
      show(digestBytes(data)),
      show(reference(data)),
      `size ${size}`,
    );
  }
});

Deno.test("digestBytes() of empty input has no chunks and the hash of the prefix alone", () => {
  const d = digestBytes(new Uint8Array(0));
  assertStrictEquals(d.size, 0);
  assertEquals(d.chunks, []);
  // printf 'dsync/1 file\n' | b3sum
  assertStrictEquals(
    toHex(d.hash),
    "8e6ea3e3157770f7311ef29e69a63495d2799602e5168923cb3e6e1f8d10896a",
  );
});

Deno.test("digestBytes() of a one-chunk input hashes that chunk's hash", () => {
  const data = noise(MIN_CHUNK, 1);
  const d = digestBytes(data);
  assertStrictEquals(d.chunks.length, 1);
  assertEquals(d.chunks[0]!.hash, referenceHash(data));
  assertEquals(d.hash, referenceFileHash([referenceHash(data)]));
});

Deno.test("digestBytes() handles low-entropy data", () => {
  const zeros = new Uint8Array(3 * MAX_CHUNK + 5);
  assertEquals(show(digestBytes(zeros)), show(reference(zeros)));
});

Deno.test("digestFile() streams a file to the same digest as digestBytes()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const size of [0, 5, MAX_CHUNK + 1, (4 << 20) + 999]) {
      const data = noise(size, 3 * size + 2);
      const path = `${dir}/f${size}`;
      await Deno.writeFile(path, data);
      assertEquals(
        show(await digestFile(path)),
        show(digestBytes(data)),
        `size ${size}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("digestFile() rejects with NotFound for a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => digestFile(`${dir}/missing`),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("digestFile() stops when its signal aborts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f`;
    await Deno.writeFile(path, noise(1000, 1));
    const ctrl = new AbortController();
    ctrl.abort(new Error("stop"));
    await assertRejects(() => digestFile(path, ctrl.signal), Error, "stop");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpackDigest() rejects inconsistent buffers", () => {
  const hash = new Uint8Array(32);
  assertThrows(() =>
    unpackDigest({
      size: 10,
      hash,
      lengths: new Uint32Array([5]),
      hashes: new Uint8Array(32),
    }), TypeError);
  assertThrows(() =>
    unpackDigest({
      size: 5,
      hash,
      lengths: new Uint32Array([5]),
      hashes: new Uint8Array(31),
    }), TypeError);
});
