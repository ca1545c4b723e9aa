import { assertEquals } from "../../assert.ts";
import {
  DELETE_SETTLE_MAX_MS,
  DELETE_SETTLE_MS,
  DeleteGuard,
  isMassDelete,
  MASS_DELETE_WINDOW_MS,
  settleTime,
  tooFewForMassDelete,
} from "../../../src/sync/pull/mod.ts";

Deno.test("isMassDelete() is more than 100 files and more than half of the folder", () => {
  const table: [number, number, boolean][] = [
    // deleting (now and within the window), files at the window's start
    [400, 500, true],
    [250, 500, false], // exactly half
    [251, 500, true],
    [100, 150, false], // not more than 100
    [101, 150, true],
    [10, 20, false],
    [300, 10_000, false],
  ];
  for (const [total, baseline, want] of table) {
    assertEquals(
      isMassDelete(total, baseline),
      want,
      `${total} of ${baseline}`,
    );
  }
});

Deno.test("DeleteGuard holds a mass delete and what follows until accepted, then guards again", () => {
  const guard = new DeleteGuard();
  const paths = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `f${from + i}`);
  assertEquals(guard.judge(paths(50), 50, 500, 0), "apply");
  guard.applied(50, 0);
  // 50 + 210 of 500 within the window: more than half.
  assertEquals(guard.judge(paths(210, 50), 210, 450, 1000), "hold");
  assertEquals(guard.judge(paths(1, 260), 1, 450, 2000), "hold");
  assertEquals(guard.held.size, 211);
  assertEquals(guard.accept().length, 211);
  assertEquals(guard.judge(paths(10, 300), 10, 450, 3000), "apply");
  guard.settle();
  // Later, small deletes pass; the window forgets old ones.
  assertEquals(
    guard.judge(paths(5), 5, 200, 3000 + MASS_DELETE_WINDOW_MS),
    "apply",
  );
});

Deno.test("settleTime() judges staged deletes after a quiet spell, or after the longest wait", () => {
  const table: [number, number, number, number | "now"][] = [
    // first staged, last staged, now, wanted
    [0, 0, 0, DELETE_SETTLE_MS],
    [0, 500, 1000, 500 + DELETE_SETTLE_MS],
    [0, 500, 500 + DELETE_SETTLE_MS, "now"],
    // A steady stream is judged once the longest wait is over.
    [
      0,
      DELETE_SETTLE_MAX_MS - 1,
      DELETE_SETTLE_MAX_MS - 1,
      DELETE_SETTLE_MAX_MS,
    ],
    [0, DELETE_SETTLE_MAX_MS - 1, DELETE_SETTLE_MAX_MS, "now"],
  ];
  for (const [first, last, now, want] of table) {
    assertEquals(settleTime(first, last, now), want, `${first} ${last} ${now}`);
  }
});

Deno.test("tooFewForMassDelete() lets a folder of at most 100 files (with recent deletes) skip the staging", () => {
  assertEquals(tooFewForMassDelete(100, 0), true);
  assertEquals(tooFewForMassDelete(60, 40), true);
  assertEquals(tooFewForMassDelete(101, 0), false);
  assertEquals(tooFewForMassDelete(90, 11), false);
});

Deno.test("DeleteGuard.recent() counts the deletes within the window only", () => {
  const guard = new DeleteGuard();
  guard.applied(30, 0);
  guard.applied(20, 1000);
  assertEquals(guard.recent(1000), 50);
  assertEquals(guard.recent(MASS_DELETE_WINDOW_MS + 1), 20);
  assertEquals(guard.accepting, false);
  guard.accept();
  assertEquals(guard.accepting, true);
});
