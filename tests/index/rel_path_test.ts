import assert from "node:assert/strict";
import {
  baseName,
  isWithin,
  joinRel,
  parentRel,
  toOsPath,
  toRelPath,
} from "../../src/index/rel_path.ts";

const NFD_E = "e\u0301"; // "é" decomposed
const NFC_E = "\u00e9"; // "é" composed

Deno.test("toRelPath() canonicalizes separators, dots and Unicode", () => {
  const cases: [string, string, string][] = [
    // [input, separator, expected]
    ["a/b/c.txt", "/", "a/b/c.txt"],
    ["a\\b\\c.txt", "\\", "a/b/c.txt"],
    ["a\\b/c.txt", "\\", "a/b/c.txt"],
    ["a\\b", "/", "a\\b"], // on POSIX a backslash is a name character
    ["./a//b/", "/", "a/b"],
    [".\\a\\.\\b\\", "\\", "a/b"],
    [
      `caf${NFD_E}/${NFD_E}t${NFD_E}.txt`,
      "/",
      `caf${NFC_E}/${NFC_E}t${NFC_E}.txt`,
    ],
    ["", "/", ""],
    [".", "/", ""],
  ];
  for (const [input, sep, expected] of cases) {
    assert.equal(
      toRelPath(input, sep),
      expected,
      `input ${JSON.stringify(input)}`,
    );
  }
});

Deno.test("toOsPath() joins with the platform separator", () => {
  assert.equal(toOsPath("/srv/f", "a/b.txt", "/"), "/srv/f/a/b.txt");
  assert.equal(toOsPath("/srv/f/", "a/b.txt", "/"), "/srv/f/a/b.txt");
  assert.equal(toOsPath("C:\\f", "a/b.txt", "\\"), "C:\\f\\a\\b.txt");
  assert.equal(toOsPath("C:\\f\\", "a/b.txt", "\\"), "C:\\f\\a\\b.txt");
  assert.equal(toOsPath("/srv/f", "", "/"), "/srv/f");
});

Deno.test("toRelPath() and toOsPath() round-trip", () => {
  for (const sep of ["/", "\\"]) {
    const rel = `d/${NFC_E}/x y.txt`;
    const os = toOsPath(sep === "/" ? "/root" : "C:\\root", rel, sep);
    const back = os.slice((sep === "/" ? "/root" : "C:\\root").length + 1);
    assert.equal(toRelPath(back, sep), rel);
  }
});

Deno.test("joinRel() appends an NFC name", () => {
  assert.equal(joinRel("", "a"), "a");
  assert.equal(joinRel("a", `${NFD_E}.txt`), `a/${NFC_E}.txt`);
});

Deno.test("parentRel(), baseName() and isWithin() split canonical paths", () => {
  assert.equal(parentRel("a/b/c"), "a/b");
  assert.equal(parentRel("a"), "");
  assert.equal(baseName("a/b/c"), "c");
  assert.equal(baseName("c"), "c");
  const cases: [string, string, boolean][] = [
    ["a/b", "a", true],
    ["a", "a", true],
    ["ab", "a", false],
    ["a b/c", "a", false],
    ["a", "a/b", false],
    ["x", "", true],
  ];
  for (const [path, ancestor, expected] of cases) {
    assert.equal(
      isWithin(path, ancestor),
      expected,
      `${path} within ${ancestor}`,
    );
  }
});
