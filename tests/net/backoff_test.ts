import {
  Backoff,
  backoffCeiling,
  backoffDelay,
} from "../../src/net/backoff.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

Deno.test("backoffCeiling() grows exponentially up to maxMs (table)", () => {
  const cases: [
    attempt: number,
    base: number,
    max: number,
    factor: number,
    want: number,
  ][] = [
    [0, 100, 10_000, 2, 100],
    [1, 100, 10_000, 2, 200],
    [5, 100, 10_000, 2, 3_200],
    [7, 100, 10_000, 2, 10_000],
    [2000, 100, 10_000, 2, 10_000],
    [3, 10, 1_000, 3, 270],
    [4, 50, 50, 2, 50],
  ];
  for (const [attempt, baseMs, maxMs, factor, want] of cases) {
    assertEquals(
      backoffCeiling(attempt, { baseMs, maxMs, factor }),
      want,
      `attempt ${attempt}`,
    );
  }
});

Deno.test("backoffDelay() applies full jitter in [0, ceiling)", () => {
  const opts = { baseMs: 100, maxMs: 1_000 };
  assertEquals(backoffDelay(2, { ...opts, random: () => 0 }), 0);
  assertEquals(backoffDelay(2, { ...opts, random: () => 0.5 }), 200);
  assertEquals(backoffDelay(2, { ...opts, random: () => 0.999999 }), 399);
  assertEquals(backoffDelay(9, { ...opts, random: () => 0.5 }), 500);
});

Deno.test("backoffDelay() rejects bad input", () => {
  const opts = { baseMs: 100, maxMs: 1_000 };
  assertThrows(() => backoffDelay(-1, opts), RangeError);
  assertThrows(() => backoffDelay(1.5, opts), RangeError);
  assertThrows(() => backoffDelay(0, { ...opts, random: () => 1 }), RangeError);
  assertThrows(() => backoffDelay(0, { baseMs: 10, maxMs: 5 }), RangeError);
  assertThrows(() => backoffDelay(0, { ...opts, factor: 0.5 }), RangeError);
});

Deno.test("Backoff.next() walks the schedule and reset() restarts it", () => {
  const b = new Backoff({ baseMs: 100, maxMs: 800, random: () => 0.5 });
  const seen = Array.from({ length: 7 }, () => b.next());
  assertEquals(seen, [50, 100, 200, 400, 400, 400, 400]);
  assert(b.attempt <= 4, `attempt stops growing, got ${b.attempt}`);
  b.reset();
  assertEquals(b.next(), 50);
});

Deno.test("Backoff.next() with real randomness stays within the ceiling", () => {
  const b = new Backoff({ baseMs: 10, maxMs: 1_000 });
  for (let i = 0; i < 1_000; i++) {
    const d = b.next();
    assert(d >= 0 && d < 1_000, `delay ${d}`);
  }
});
