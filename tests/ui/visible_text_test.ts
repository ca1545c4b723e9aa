import { assertEquals } from "../assert.ts";
import { showInvisible } from "../../src/ui/mod.ts";

Deno.test("showInvisible() spells out bidi, zero-width and control characters, keeping newline and tab", () => {
  const cases: [string, string][] = [
    ["plain.txt", "plain.txt"],
    ["\u202egnp.exe", "<U+202E>gnp.exe"],
    ["a\u200bb", "a<U+200B>b"],
    ["\u001b[31mred", "<U+001B>[31mred"],
    ["line\nnext\tcol", "line\nnext\tcol"],
    ["caf\u00e9 \u0645", "caf\u00e9 \u0645"],
    ["\u2066x\u2069", "<U+2066>x<U+2069>"],
  ];
  for (const [input, want] of cases) assertEquals(showInvisible(input), want);
});
