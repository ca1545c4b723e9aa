import { assertEquals } from "../../assert.ts";
import { WrittenRanges } from "../../../src/sync/apply/written_ranges.ts";

/** Chunks of 10, 20, 30 and 40 bytes: boundaries 0, 10, 30, 60, 100. */
const CHUNKS = [10, 20, 30, 40].map((length) => ({ length }));

Deno.test("WrittenRanges.coverOnce() trusts writes at chunk boundaries that cover the file once, in any order", () => {
  const cases: [string, [number, number][], boolean][] = [
    ["in order", [[0, 10], [10, 20], [30, 30], [60, 40]], true],
    ["out of order", [[60, 40], [10, 20], [0, 10], [30, 30]], true],
    ["several chunks at once", [[30, 70], [0, 30]], true],
    ["a gap", [[0, 10], [30, 30], [60, 40]], false],
    ["nothing", [], false],
    ["twice over one chunk", [[0, 30], [10, 20], [30, 70]], false],
    ["overlapping blocks", [[0, 60], [30, 70]], false],
    ["not at a boundary", [[0, 15], [15, 85]], false],
    ["empty write ignored", [[0, 100], [40, 0]], true],
  ];
  for (const [name, writes, want] of cases) {
    const ranges = new WrittenRanges(CHUNKS);
    for (const [offset, length] of writes) ranges.add(offset, length);
    assertEquals(ranges.coverOnce(100), want, name);
  }
  assertEquals(new WrittenRanges([]).coverOnce(0), true, "empty file");
});
