import {
  caseFoldKey,
  InvalidPathError,
  type InvalidPathReason,
  ProtocolError,
  validateWirePath,
  wirePathProblem,
} from "../../src/protocol/mod.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

const VALID: readonly string[] = [
  "a",
  "a/b/c.txt",
  ".hidden",
  "..a",
  "a..b",
  "...a",
  "dir/.gitignore",
  " leading space",
  "name with spaces.txt",
  "con_file",
  "console",
  "CONFIG.SYS",
  "com10",
  "lpt",
  "nul_device",
  "auxiliary.txt",
  "prn2",
  "conin",
  "a/b/confusing.con",
  "ümlaut/straße",
  "日本語/ファイル.txt",
  "emoji 😀.png",
  "x".repeat(255),
  "é".repeat(127), // 254 bytes
  "😀".repeat(63), // 252 bytes
  `${"a".repeat(255)}/${"b".repeat(255)}`,
  Array.from({ length: 16 }, () => "c".repeat(255)).join("/"), // 4095 bytes
  "a\u0080b", // C1 controls are legal file-name characters
  "ligature ﬁ",
  "tab-free name",
  "semi;colon,comma=equals+plus&amp'quote'",
  "[brackets]{braces}(parens)",
  "percent%20",
  "#hash@at$dollar!bang~tilde`backtick^caret",
];

const INVALID: readonly (readonly [string, InvalidPathReason])[] = [
  ["", "empty"],
  ["/", "absolute"],
  ["/etc/passwd", "absolute"],
  ["//server/share", "absolute"],
  ["C:", "drive letter"],
  ["c:/windows", "drive letter"],
  ["Z:file", "drive letter"],
  ["a\\b", "backslash"],
  ["..\\..\\x", "backslash"],
  ["a\u0000b", "control character"],
  ["a\nb", "control character"],
  ["\r", "control character"],
  ["a\tb", "control character"],
  ["a\u001fb", "control character"],
  ["a\u007fb", "control character"],
  ["a/", "empty component"],
  ["a//b", "empty component"],
  [".", "dot component"],
  ["..", "dot component"],
  ["./a", "dot component"],
  ["a/.", "dot component"],
  ["a/./b", "dot component"],
  ["../a", "dot component"],
  ["a/../b", "dot component"],
  ["a/..", "dot component"],
  ["x".repeat(256), "component too long"],
  ["é".repeat(128), "component too long"],
  ["😀".repeat(64), "component too long"],
  [`ok/${"y".repeat(256)}/ok`, "component too long"],
  [Array.from({ length: 17 }, () => "c".repeat(241)).join("/"), "too long"],
  ["a".repeat(4097), "too long"],
  ["a<b", "character not allowed on Windows"],
  ["a>b", "character not allowed on Windows"],
  ["ab:c", "character not allowed on Windows"],
  ["a:b", "drive letter"],
  ["dir/file:stream", "character not allowed on Windows"],
  ['a"b', "character not allowed on Windows"],
  ["a|b", "character not allowed on Windows"],
  ["a?b", "character not allowed on Windows"],
  ["a*b", "character not allowed on Windows"],
  ["a.", "trailing dot or space"],
  ["a ", "trailing dot or space"],
  ["a..", "trailing dot or space"],
  ["dir./b", "trailing dot or space"],
  ["dir /b", "trailing dot or space"],
  ["...", "trailing dot or space"],
  [" ", "trailing dot or space"],
  ["CON", "reserved Windows name"],
  ["con", "reserved Windows name"],
  ["Con.txt", "reserved Windows name"],
  ["con.tar.gz", "reserved Windows name"],
  ["con .txt", "reserved Windows name"],
  ["dir/prn", "reserved Windows name"],
  ["aux/file", "reserved Windows name"],
  ["NUL.json", "reserved Windows name"],
  ["com1", "reserved Windows name"],
  ["COM9.log", "reserved Windows name"],
  ["com0", "reserved Windows name"],
  ["lpt1", "reserved Windows name"],
  ["LPT9", "reserved Windows name"],
  ["lpt0.x", "reserved Windows name"],
  ["com\u00b9", "reserved Windows name"],
  ["LPT\u00b3.txt", "reserved Windows name"],
  ["conin$", "reserved Windows name"],
  ["CONOUT$.log", "reserved Windows name"],
  ["e\u0301", "not NFC"], // e + combining acute: NFC is é
  ["dir/\u212b", "not NFC"], // ANGSTROM SIGN normalises to U+00C5
  ["\u1100\u1161", "not NFC"], // Hangul jamo compose
  ["a\ud800", "not well-formed Unicode"],
  ["\udc00a", "not well-formed Unicode"],
  ["a\ud83d", "not well-formed Unicode"],
];

Deno.test("validateWirePath() accepts portable relative paths", () => {
  for (const path of VALID) {
    assertEquals(wirePathProblem(path), null, JSON.stringify(path));
    validateWirePath(path);
  }
});

Deno.test("validateWirePath() rejects each rule with its reason", () => {
  for (const [path, reason] of INVALID) {
    assertEquals(wirePathProblem(path), reason, JSON.stringify(path));
    const error = assertThrows(
      () => validateWirePath(path),
      InvalidPathError,
    ) as InvalidPathError;
    assertEquals(error.reason, reason);
    assertEquals(error.path, path);
    assertEquals(error.name, "InvalidPathError");
    assert(error instanceof ProtocolError);
    assert(error.message.includes(reason), error.message);
  }
});

Deno.test("validateWirePath() rejects non-strings without a TypeError", () => {
  for (const value of [undefined, null, 42, {}, ["a"]]) {
    const error = assertThrows(
      () => validateWirePath(value as unknown as string),
      InvalidPathError,
    ) as InvalidPathError;
    assertEquals(error.reason, "not a string");
  }
});

Deno.test("validateWirePath() counts UTF-8 bytes at the 4096-byte limit", () => {
  // 2048 two-byte characters in components of 100: exactly 4096 bytes + slashes.
  const component = "é".repeat(100); // 200 bytes
  const parts: string[] = [];
  while ((parts.length + 1) * 201 - 1 <= 4096) parts.push(component);
  const path = parts.join("/");
  const bytes = new TextEncoder().encode(path).length;
  const fill = "a".repeat(4096 - bytes - 1);
  assertEquals(wirePathProblem(`${path}/${fill}`), null);
  assertEquals(wirePathProblem(`${path}/${fill}a`), "too long");
});

Deno.test("wirePathProblem() skips the NFC check only where it cannot matter", () => {
  // Every code unit below U+0300 is NFC on its own, also after an ASCII letter.
  for (let c = 0x20; c < 0x300; c++) {
    const s = `a${String.fromCharCode(c)}b`;
    assertEquals(s.normalize("NFC"), s, `U+${c.toString(16)}`);
  }
});

Deno.test("caseFoldKey() equates case variants and canonical equivalents", () => {
  const same: readonly (readonly [string, string])[] = [
    ["Readme.md", "README.MD"],
    ["dir/File.txt", "DIR/file.TXT"],
    ["Ärger", "ärger"],
    ["e\u0301", "\u00c9"], // decomposed é vs precomposed É
    ["straße", "STRASSE"], // coarser than NTFS, on purpose
    ["ΟΔΟΣ", "οδοσ"],
    ["οδος", "ΟΔΟΣ"], // final sigma
    ["Ǆ", "ǆ"],
  ];
  for (const [a, b] of same) {
    assertEquals(caseFoldKey(a), caseFoldKey(b), `${a} vs ${b}`);
  }
  const different: readonly (readonly [string, string])[] = [
    ["a", "b"],
    ["a/b", "ab"],
    ["file1", "file2"],
    ["é", "e"],
  ];
  for (const [a, b] of different) {
    assert(caseFoldKey(a) !== caseFoldKey(b), `${a} vs ${b}`);
  }
});
