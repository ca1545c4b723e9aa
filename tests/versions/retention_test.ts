import { assertEquals } from "../assert.ts";
import { versionsToFree, versionsToPrune } from "../../src/versions/mod.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 7);
const v = (id: string, ageDays: number, size: number) => ({
  id,
  at: NOW - ageDays * DAY,
  size,
});

Deno.test("versionsToPrune() deletes what is too old, then the oldest beyond the size cap", () => {
  const all = [
    v("new", 1, 10),
    v("old", 40, 10),
    v("mid", 10, 10),
    v("older", 31, 5),
  ];
  const table: { keepDays: number; maxBytes: number; want: string[] }[] = [
    { keepDays: 30, maxBytes: Infinity, want: ["old", "older"] },
    { keepDays: 30, maxBytes: 20, want: ["old", "older"] },
    { keepDays: 30, maxBytes: 15, want: ["old", "older", "mid"] },
    { keepDays: 30, maxBytes: 0, want: ["old", "older", "mid", "new"] },
    { keepDays: 60, maxBytes: 25, want: ["old"] },
    { keepDays: 60, maxBytes: 35, want: [] },
    { keepDays: 0, maxBytes: Infinity, want: ["old", "older", "mid", "new"] },
  ];
  for (const { keepDays, maxBytes, want } of table) {
    assertEquals(
      versionsToPrune(all, { keepDays, maxBytes }, NOW).map((x) => x.id),
      want,
      `${keepDays} days, ${maxBytes} bytes`,
    );
  }
});

Deno.test("versionsToFree() takes the oldest until enough bytes are freed", () => {
  const all = [v("a", 1, 10), v("b", 3, 10), v("c", 2, 10)];
  assertEquals(versionsToFree(all, 15).map((x) => x.id), ["b", "c"]);
  assertEquals(versionsToFree(all, 0).map((x) => x.id), []);
  assertEquals(versionsToFree(all, 100).map((x) => x.id), ["b", "c", "a"]);
});
