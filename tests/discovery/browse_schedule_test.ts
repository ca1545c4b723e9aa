import { assertEquals } from "../assert.ts";
import {
  browseDelayMs,
  MAX_QUERY_DELAY_MS,
} from "../../src/discovery/browse_schedule.ts";

Deno.test("browseDelayMs() doubles from 1 s and caps at 60 s", () => {
  const cases: [number, number][] = [
    [0, 1_000],
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [4, 16_000],
    [5, 32_000],
    [6, 60_000],
    [7, 60_000],
    [1_000_000, 60_000],
  ];
  for (const [index, want] of cases) {
    assertEquals(browseDelayMs(index), want, `index ${index}`);
  }
  assertEquals(MAX_QUERY_DELAY_MS, 60_000);
});

Deno.test("browseDelayMs() treats odd input as the first query", () => {
  for (const index of [-1, NaN, -Infinity]) {
    assertEquals(browseDelayMs(index), 1_000, `index ${index}`);
  }
  assertEquals(browseDelayMs(Infinity), 60_000);
});
