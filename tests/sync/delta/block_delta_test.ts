/**
 * The pure parts of block deltas: signatures, the source's diff, the
 * receiver's assembly (shape checks and the whole-chunk check), and when
 * to ask for blocks.
 */
import { assertEquals, assertThrows } from "../../assert.ts";
import { noise } from "../../_noise.ts";
import { blake3 } from "../../../src/index/mod.ts";
import {
  askAsBlocks,
  assembleBlocks,
  assembleVerified,
  BlockDeltaMismatchError,
  BlockShapeError,
  blockSignatures,
  type DeltaSituation,
  diffBlocks,
} from "../../../src/sync/delta/mod.ts";

Deno.test("blockSignatures() signs each 4 KiB block with 8 bytes, the last block shorter", () => {
  const data = noise(4096 * 2 + 100, 1);
  const sigs = blockSignatures(data);
  assertEquals(sigs.length, 3 * 8);
  assertEquals(
    sigs.subarray(0, 8),
    blake3(data.subarray(0, 4096)).subarray(0, 8),
  );
  assertEquals(sigs.subarray(16), blake3(data.subarray(8192)).subarray(0, 8));
});

Deno.test("diffBlocks() sends only the blocks that differ, and assembleBlocks() rebuilds the chunk from them", () => {
  const old = noise(65_000, 2);
  const cases: [string, (b: Uint8Array) => void, number[]][] = [
    ["nothing changed", () => {}, []],
    ["one byte in block 3", (b) => b[3 * 4096 + 7]! ^= 1, [3]],
    ["the short last block", (b) => b[64_999]! ^= 1, [15]],
    ["a run across blocks 1 to 4", (b) => b.fill(9, 5000, 19_000), [
      1,
      2,
      3,
      4,
    ]],
    ["everything", (b) => b.set(noise(b.length, 3)), [...Array(16).keys()]],
  ];
  for (const [what, change, blocks] of cases) {
    const next = old.slice();
    change(next);
    const diff = diffBlocks(next, blockSignatures(old));
    const sent: number[] = [];
    for (let i = 0; i < 16; i++) {
      if (diff.bitmap[i >> 3]! & (1 << (i & 7))) sent.push(i);
    }
    assertEquals(sent, blocks, what);
    assertEquals(diff.bitmap.length, 2, what);
    assertEquals(assembleBlocks(old, diff.bitmap, diff.blocks), next, what);
    assertEquals(
      assembleVerified(old, diff.bitmap, diff.blocks, blake3(next), {
        path: "f",
        offset: 0,
      }),
      next,
      what,
    );
  }
});

Deno.test("diffBlocks() refuses signatures that do not count the chunk's blocks", () => {
  assertThrows(
    () => diffBlocks(new Uint8Array(5000), new Uint8Array(8)),
    RangeError,
  );
});

Deno.test("assembleBlocks() refuses blocks that do not fit the old bytes with BlockShapeError", () => {
  const base = new Uint8Array(9000); // 3 blocks
  const cases: [string, Uint8Array, number][] = [
    ["bitmap of 2 bytes", Uint8Array.of(1, 0), 4096],
    ["bit past the last block", Uint8Array.of(0b1000), 4096],
    ["blocks too short", Uint8Array.of(0b11), 4096],
    ["blocks left over", Uint8Array.of(0b1), 4097],
    ["short last block given whole", Uint8Array.of(0b100), 4096],
  ];
  for (const [what, bitmap, bytes] of cases) {
    assertThrows(
      () => assembleBlocks(base, bitmap, new Uint8Array(bytes)),
      BlockShapeError,
      undefined,
      what,
    );
  }
});

Deno.test("assembleVerified() throws BlockDeltaMismatchError when the blocks lie", () => {
  const old = noise(20_000, 4);
  const next = old.slice();
  next[10]! ^= 1;
  const diff = diffBlocks(next, blockSignatures(old));
  diff.blocks[0]! ^= 0xff;
  assertThrows(
    () =>
      assembleVerified(old, diff.bitmap, diff.blocks, blake3(next), {
        path: "f",
        offset: 0,
      }),
    BlockDeltaMismatchError,
  );
});

Deno.test("askAsBlocks() asks for blocks only over old bytes, from a peer that serves them", () => {
  const base: DeltaSituation = {
    peerTakesBlocks: true,
    partIsCopy: true,
    oldBytesFrom: 1 << 20,
    length: 65_536,
  };
  const cases: [string, Partial<DeltaSituation>, boolean][] = [
    ["a changed chunk inside the copied bytes", {}, true],
    ["a peer without the flag", { peerTakesBlocks: false }, false],
    ["a part that is not a copy", { partIsCopy: false }, false],
    ["old bytes end inside the chunk", { oldBytesFrom: 65_535 }, false],
    ["old bytes end exactly at its end", { oldBytesFrom: 65_536 }, true],
    ["a chunk of one block", { length: 8191 }, false],
    ["a chunk of two blocks", { length: 8192 }, true],
  ];
  for (const [what, over, expected] of cases) {
    assertEquals(askAsBlocks({ ...base, ...over }), expected, what);
  }
});
