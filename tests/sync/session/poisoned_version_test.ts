import { assertEquals } from "../../assert.ts";
import { compare, versionOf } from "../../../src/index/version_vector.ts";
import {
  isPoisoned,
  repairedVersion,
} from "../../../src/sync/session/poisoned_version.ts";

const L = 5n;
const V = 9n;
const H = 3n;

Deno.test("isPoisoned() is true for a counter above 2^52 only", () => {
  const cases: [[bigint, number][], boolean][] = [
    [[[L, 1]], false],
    [[[L, 2 ** 52]], false],
    [[[L, 2 ** 52 + 1]], true],
    [[[H, 1], [L, 2 ** 52 + 5]], true],
    [[], false],
  ];
  for (const [entries, poisoned] of cases) {
    assertEquals(isPoisoned(versionOf(entries)), poisoned, String(entries));
  }
});

Deno.test("repairedVersion() drops the counters no device accepts and adds one change: concurrent with the honest edits", () => {
  const poisoned = versionOf([[H, 1], [L, 2 ** 52 + 5], [V, 2]]);
  const repaired = repairedVersion(poisoned, V);
  assertEquals(repaired, versionOf([[H, 1], [V, 3]]));
  assertEquals(isPoisoned(repaired), false);
  // L's later edits were "older" than the poisoned version; now they conflict.
  const editedOnL = versionOf([[L, 4], [V, 2]]);
  assertEquals(compare(editedOnL, poisoned), "lesser");
  assertEquals(compare(editedOnL, repaired), "concurrent");
});
