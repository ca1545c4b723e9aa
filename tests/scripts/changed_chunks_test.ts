import { assertEquals } from "../assert.ts";
import {
  changedChunkBytes,
  type SizedChunk,
} from "../../scripts/bench_sync/changed_chunks.ts";
import { digestBytes } from "../../src/index/file_digest.ts";

function chunk(id: number, length: number): SizedChunk {
  return { length, hash: new Uint8Array(32).fill(id) };
}

Deno.test("changedChunkBytes counts the new version's chunks the old one lacks, each once", () => {
  const cases: [string, SizedChunk[], SizedChunk[], number][] = [
    ["nothing changed", [chunk(1, 10), chunk(2, 20)], [
      chunk(1, 10),
      chunk(2, 20),
    ], 0],
    ["one chunk replaced", [chunk(1, 10), chunk(2, 20)], [
      chunk(1, 10),
      chunk(3, 25),
    ], 25],
    ["a new chunk twice counts once", [chunk(1, 10)], [
      chunk(4, 7),
      chunk(4, 7),
    ], 7],
    ["chunks moved, none new", [chunk(1, 10), chunk(2, 20)], [
      chunk(2, 20),
      chunk(1, 10),
    ], 0],
    ["from empty", [], [chunk(1, 10), chunk(2, 20)], 30],
  ];
  for (const [name, before, after, bytes] of cases) {
    assertEquals(changedChunkBytes(before, after), bytes, name);
  }
});

Deno.test("changedChunkBytes of a real overwrite covers the change, not the file", () => {
  const random = (n: number, seed: number) => {
    const out = new Uint8Array(n);
    let x = seed;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
  const data = random(8 << 20, 0x2545f491);
  const changed = data.slice();
  const offset = 3_000_000, length = 100_000;
  changed.set(random(length, 0x1234567), offset);
  const bytes = changedChunkBytes(
    digestBytes(data).chunks,
    digestBytes(changed).chunks,
  );
  // Every changed byte is in a new chunk; the cuts come back within a few
  // chunks after it (each at most 256 KiB).
  assertEquals(bytes >= length, true, `${bytes}`);
  assertEquals(bytes <= length + 8 * (256 << 10), true, `${bytes}`);
});
