import { assertEquals } from "../assert.ts";
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
} from "../../src/ui/mod.ts";

Deno.test("formatCount() groups thousands", () => {
  const table: [number, string][] = [[0, "0"], [999, "999"], [1234, "1,234"], [
    1_234_567,
    "1,234,567",
  ]];
  for (const [n, text] of table) assertEquals(formatCount(n), text);
});

Deno.test("formatBytes() uses decimal units", () => {
  const table: [number, string][] = [
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.0 KB"],
    [5_600_000_000, "5.6 GB"],
    [123_456_789, "123 MB"],
    [-1, "? B"],
  ];
  for (const [n, text] of table) assertEquals(formatBytes(n), text);
  assertEquals(formatRate(112_000_000), "112 MB/s");
});

Deno.test("formatDuration() scales from ms to hours", () => {
  const table: [number, string][] = [
    [850, "850 ms"],
    [12_300, "12.3 s"],
    [192_000, "3m12s"],
    [3_720_000, "1h02m"],
  ];
  for (const [n, text] of table) assertEquals(formatDuration(n), text);
});
