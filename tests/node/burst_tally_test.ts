/** A burst of changes: counted per device, only the first few kept whole. */
import { assertEquals } from "../assert.ts";
import { BurstTally, DETAILED_BURST } from "../../src/node/burst_tally.ts";
import type { Change } from "../../src/node/change.ts";

function change(path: string, overrides: Partial<Change> = {}): Change {
  return {
    time: 0,
    path,
    device: "beta",
    action: "added",
    kind: "file",
    size: 1_000,
    ...overrides,
  };
}

Deno.test("BurstTally counts every change but keeps only the first few per device whole", () => {
  const tally = new BurstTally();
  for (let i = 0; i < 100_000; i++) {
    tally.add(
      change(`f${i}`, i % 4 === 0 ? { action: "deleted", size: 0 } : {}),
    );
  }
  tally.add(change("mine.txt", { device: "here", action: "updated" }));
  assertEquals(tally.size, 100_001);
  assertEquals(tally.kept, DETAILED_BURST + 2);
  assertEquals(tally.lines(4_100), [
    "beta: 100,000 changes received (25,000 deleted), 75.0 MB, 4.1 s",
    "here: updated mine.txt (1.0 KB)",
  ]);
});

Deno.test("BurstTally.replace() counts a change for another device", () => {
  const tally = new BurstTally();
  const folder = change("photos", { device: "here", kind: "dir", size: 0 });
  tally.add(folder);
  tally.add(change("photos/a.jpg"));
  tally.replace(folder, { ...folder, device: "beta" });
  assertEquals(tally.size, 2);
  assertEquals(tally.lines(0), [
    "beta: added photos/a.jpg (1.0 KB)",
    "beta: added folder photos",
  ]);
  // Past the detailed few, a replaced change moves the counts alone.
  const many = new BurstTally();
  const mine = Array.from(
    { length: 20 },
    (_, i) => change(`d${i}`, { device: "here", kind: "dir", size: 0 }),
  );
  for (const c of mine) many.add(c);
  many.replace(mine[15]!, { ...mine[15]!, device: "beta" });
  assertEquals(many.lines(1_000), [
    "here: 19 changes changed, 0 B, 1.0 s",
    "beta: added folder d15",
  ]);
});
