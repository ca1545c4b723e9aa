import { assertEquals } from "../assert.ts";
import {
  findLookAlikes,
  hasInvisibleCharacter,
  lookAlikeKey,
} from "../../src/index/mod.ts";

Deno.test("hasInvisibleCharacter() finds bidi overrides, isolates, zero-width and control characters", () => {
  const cases: [string, boolean][] = [
    ["photo.png", false],
    ["caf\u00e9/r\u00e9sum\u00e9.txt", false],
    ["\u202egnp.exe", true], // RLO
    ["a\u202db", true], // LRO
    ["a\u2066b\u2069", true], // LRI … PDI
    ["a\u200fb", true], // RLM
    ["a\u200bb", true], // zero-width space
    ["\ufeffbom", true],
    ["soft\u00adhyphen", true],
    ["bell\u0007", true],
    ["\u0645\u0644\u0641.txt", false], // Arabic letters are visible
  ];
  for (const [path, want] of cases) {
    assertEquals(hasInvisibleCharacter(path), want, JSON.stringify(path));
  }
});

Deno.test("lookAlikeKey() equates names that differ only by case, normalisation or invisible characters", () => {
  const same: [string, string][] = [
    ["Notes.txt", "notes.txt"],
    ["caf\u00e9", "cafe\u0301"],
    ["a\u200bb", "ab"],
    ["\uff21.txt", "a.txt"], // fullwidth A
    ["dir/README", "DIR/readme"],
  ];
  for (const [a, b] of same) assertEquals(lookAlikeKey(a), lookAlikeKey(b));
  const different: [string, string][] = [["a.txt", "b.txt"], ["a/b", "ab"]];
  for (const [a, b] of different) {
    assertEquals(lookAlikeKey(a) === lookAlikeKey(b), false, `${a} ${b}`);
  }
});

Deno.test("findLookAlikes() groups twins, lists invisible names, and stops at the limit", () => {
  const report = findLookAlikes([
    "Notes.txt",
    "notes.txt",
    "x.txt",
    "\u202egnp.exe",
    "a\u200bb",
    "ab",
  ]);
  assertEquals(report, {
    twins: [["Notes.txt", "notes.txt"], ["ab", "a\u200bb"]],
    invisible: ["a\u200bb", "\u202egnp.exe"],
    truncated: false,
  });
  const many = Array.from({ length: 10 }, (_, i) => [`f${i}`, `F${i}`]).flat();
  const capped = findLookAlikes(many, 3);
  assertEquals(capped.twins.length, 3);
  assertEquals(capped.truncated, true);
});
