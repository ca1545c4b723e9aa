import {
  type SuspensionStep,
  WatchSuspension,
} from "../../src/node/watch_suspension.ts";
import { assertEquals, assertThrows } from "../assert.ts";

Deno.test("WatchSuspension suspends for a large backlog and resumes when it is small or after the longest wait", () => {
  // [what, suspended at (undefined: watching), last scan ms, now, backlog, mayStop, step]
  const table: [
    string,
    number | undefined,
    number,
    number,
    number,
    boolean,
    SuspensionStep,
  ][] = [
    ["watching, small backlog", undefined, 0, 0, 511, true, "stay"],
    ["watching, large backlog", undefined, 0, 0, 512, true, "suspend"],
    [
      "watching, large backlog, must watch",
      undefined,
      0,
      0,
      5000,
      false,
      "stay",
    ],
    ["suspended, still busy", 0, 0, 9_999, 5000, true, "stay"],
    ["suspended, backlog drained", 0, 0, 100, 63, true, "resume"],
    ["suspended, backlog at the threshold", 0, 0, 100, 64, true, "stay"],
    ["suspended for the longest wait", 0, 0, 10_000, 5000, true, "resume"],
    // A slow full scan stretches the wait: 20 x 1 s.
    ["slow scans wait longer", 0, 1_000, 10_000, 5000, true, "stay"],
    ["slow scans, at last", 0, 1_000, 20_000, 5000, true, "resume"],
    // Once suspended, a node that must watch still resumes by the rules.
    ["suspended, mayStop false", 0, 0, 100, 10, false, "resume"],
  ];
  for (const [what, since, scanMs, now, backlog, mayStop, want] of table) {
    const s = new WatchSuspension();
    s.scanned(scanMs);
    if (since !== undefined) s.suspended(since);
    assertEquals(s.decide(now, backlog, mayStop), want, what);
  }
});

Deno.test("WatchSuspension tracks its state and takes custom thresholds", () => {
  const s = new WatchSuspension({
    suspendAt: 10,
    resumeBelow: 2,
    maxSuspendMs: 50,
  });
  assertEquals(s.active, false);
  assertEquals(s.decide(0, 10, true), "suspend");
  s.suspended(0);
  assertEquals(s.active, true);
  assertEquals(s.decide(10, 5, true), "stay");
  assertEquals(s.decide(50, 5, true), "resume");
  s.resumed();
  assertEquals(s.active, false);
  assertEquals(s.decide(60, 1, true), "stay");
});

Deno.test("WatchSuspension() rejects a resume threshold above the suspend one", () => {
  assertThrows(
    () => new WatchSuspension({ suspendAt: 10, resumeBelow: 11 }),
    RangeError,
  );
});
