import { assertEquals } from "../assert.ts";
import { RateMeter } from "../../src/node/rate_meter.ts";

Deno.test("RateMeter.rate() is the growth over the last few seconds, and 0 when idle", () => {
  const meter = new RateMeter(3_000);
  assertEquals(meter.rate("in", 0, 0), 0);
  assertEquals(meter.rate("in", 1_000_000, 1_000), 1_000_000);
  assertEquals(meter.rate("in", 3_000_000, 2_000), 1_500_000);
  // Nothing more arrives: the window slides past the growth.
  meter.rate("in", 3_000_000, 5_000);
  assertEquals(meter.rate("in", 3_000_000, 8_000), 0);
  // Counters are separate.
  assertEquals(meter.rate("out", 5, 8_000), 0);
});
