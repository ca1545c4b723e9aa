import { assertEquals } from "../../assert.ts";
import {
  rangesHold,
  rangesOf,
  rangesSize,
} from "../../../src/sync/swarm/mod.ts";

Deno.test("rangesOf() turns held chunk flags into sorted, non-adjacent ranges", () => {
  const cases: [
    string,
    number[],
    number,
    { start: number; count: number }[],
  ][] = [
    ["nothing held", [0, 0, 0], 10, []],
    ["empty file", [], 10, []],
    ["all held", [1, 1, 1, 1], 10, [{ start: 0, count: 4 }]],
    ["prefix", [1, 1, 0, 0], 10, [{ start: 0, count: 2 }]],
    ["holes", [0, 1, 0, 1, 1, 0, 1], 10, [
      { start: 1, count: 1 },
      { start: 3, count: 2 },
      { start: 6, count: 1 },
    ]],
    ["limited to the first ranges", [1, 0, 1, 0, 1], 2, [
      { start: 0, count: 1 },
      { start: 2, count: 1 },
    ]],
  ];
  for (const [what, flags, limit, want] of cases) {
    assertEquals(rangesOf(Uint8Array.from(flags), limit), want, what);
  }
});

Deno.test("rangesHold() finds an index by binary search, rangesSize() counts", () => {
  const ranges = [
    { start: 1, count: 1 },
    { start: 3, count: 2 },
    { start: 10, count: 5 },
  ];
  const held = [1, 3, 4, 10, 11, 12, 13, 14];
  for (let i = 0; i < 20; i++) {
    assertEquals(rangesHold(ranges, i), held.includes(i), `index ${i}`);
  }
  assertEquals(rangesHold([], 0), false);
  assertEquals(rangesSize(ranges), 8);
});
