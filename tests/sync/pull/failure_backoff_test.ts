import { assertEquals, assertThrows } from "../../assert.ts";
import { FailureBackoff } from "../../../src/sync/pull/failure_backoff.ts";

Deno.test("FailureBackoff warns once per episode and backs off to the cap", () => {
  const b = new FailureBackoff({ firstMs: 10_000, maxMs: 40_000 });
  const plans = [0, 10, 30, 70, 110].map((s) => b.failed("x", s * 1000));
  assertEquals(plans.map((p) => p.warn), [true, false, false, false, false]);
  assertEquals(plans.map((p) => p.delayMs), [
    10_000,
    20_000,
    40_000,
    40_000,
    40_000,
  ]);
  // Another path has its own episode.
  assertEquals(b.failed("y", 111_000).warn, true);
  // Quiet for longer than three times the cap: a new episode.
  const later = b.failed("x", 110_000 + 121_000);
  assertEquals([later.warn, later.tries, later.delayMs], [true, 1, 10_000]);
});

Deno.test("FailureBackoff refuses delays that make no sense", () => {
  assertThrows(() => new FailureBackoff({ firstMs: 0 }), RangeError);
  assertThrows(
    () => new FailureBackoff({ firstMs: 10, maxMs: 5 }),
    RangeError,
  );
});
