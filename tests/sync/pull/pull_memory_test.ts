import { assertEquals } from "../../assert.ts";
import {
  fitsListBudget,
  listBytesOf,
  PULL_LIST_BUDGET_BYTES,
} from "../../../src/sync/pull/pull_memory.ts";
import { MAX_CHUNKS_PER_RECORD } from "../../../src/protocol/mod.ts";

Deno.test("fitsListBudget() lets one list at the chunk cap run at a time, and honest lists always (table)", () => {
  const cap = listBytesOf(MAX_CHUNKS_PER_RECORD); // 20 MB
  const gib = listBytesOf(16_384); // 1 GiB of 64 KiB chunks: 0.7 MB
  const cases: [string, number, number, boolean][] = [
    ["nothing in flight, a list at the cap", 0, cap, true],
    ["nothing in flight, a list over the budget", 0, 2 * cap, true],
    ["one at the cap in flight, another", cap, cap, false],
    ["one at the cap in flight, a 1 GiB file", cap, gib, true],
    ["three 1 GiB files in flight, a fourth", 3 * gib, gib, true],
    ["three 1 GiB files in flight, one at the cap", 3 * gib, cap, true],
    ["just at the budget", PULL_LIST_BUDGET_BYTES - gib, gib, true],
    ["one byte past it", PULL_LIST_BUDGET_BYTES - gib + 1, gib, false],
  ];
  for (const [name, inFlight, list, want] of cases) {
    assertEquals(fitsListBudget(inFlight, list), want, name);
  }
});

Deno.test("listBytesOf() counts the packed entry and the offset of each chunk", () => {
  assertEquals(listBytesOf(0), 0);
  assertEquals(listBytesOf(MAX_CHUNKS_PER_RECORD), 458_752 * 44);
});
