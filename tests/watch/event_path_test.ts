import {
  eventRelPath,
  isIgnoreFile,
  isInternalPath,
} from "../../src/watch/event_path.ts";
import { assertEquals } from "../assert.ts";

Deno.test("eventRelPath() maps event paths under the folder roots", () => {
  const posix = ["/home/u/sync", "/real/sync/"];
  const table: [string, string | undefined][] = [
    ["/home/u/sync", ""],
    ["/home/u/sync/", ""],
    ["/home/u/sync/a.txt", "a.txt"],
    ["/home/u/sync/d/e/f", "d/e/f"],
    ["/home/u/sync//d/./e", "d/e"],
    ["/home/u/sync/back\\slash", "back\\slash"],
    ["/home/u/sync/cafe\u0301", "caf\u00e9"],
    ["/real/sync/x", "x"],
    ["/real/sync", ""],
    ["/home/u/sync2/a", undefined],
    ["/home/u/syn", undefined],
    ["/home/u/SYNC/a", undefined],
    ["/elsewhere/a", undefined],
  ];
  for (const [abs, rel] of table) {
    assertEquals(eventRelPath(abs, posix, "/"), rel, abs);
  }
});

Deno.test("eventRelPath() handles Windows separators and case", () => {
  const roots = ["C:\\Users\\u\\Sync"];
  const table: [string, string | undefined][] = [
    ["C:\\Users\\u\\Sync", ""],
    ["C:\\Users\\u\\Sync\\a\\b.txt", "a/b.txt"],
    ["c:\\users\\U\\sync\\A.txt", "A.txt"],
    ["C:\\Users\\u\\Sync/mixed\\sep", "mixed/sep"],
    ["C:\\Users\\u\\Syncs\\a", undefined],
  ];
  for (const [abs, rel] of table) {
    assertEquals(eventRelPath(abs, roots, "\\"), rel, abs);
  }
  assertEquals(eventRelPath("C:\\a\\b", ["C:\\"], "\\"), "a/b");
  assertEquals(eventRelPath("/a/b", ["/"], "/"), "a/b");
});

Deno.test("eventRelPath() ignores the Windows \\\\?\\ prefix on either side", () => {
  const table: [string, string[], string | undefined][] = [
    ["\\\\?\\C:\\Sync\\a.txt", ["C:\\Sync"], "a.txt"],
    ["C:\\Sync\\d\\b.txt", ["\\\\?\\C:\\Sync"], "d/b.txt"],
    ["\\\\?\\UNC\\nas\\share\\x", ["\\\\nas\\share"], "x"],
    ["\\\\nas\\share\\y\\z", ["\\\\?\\unc\\nas\\share"], "y/z"],
    ["\\\\?\\D:\\Sync\\a", ["C:\\Sync"], undefined],
  ];
  for (const [abs, roots, rel] of table) {
    assertEquals(eventRelPath(abs, roots, "\\"), rel, abs);
  }
  // On POSIX the prefix means nothing special.
  assertEquals(eventRelPath("\\\\?\\x", ["/sync"], "/"), undefined);
});

Deno.test("eventRelPath() matches a macOS folder whose name comes back in NFD", () => {
  const nfc = "/Users/u/Caf\u00e9 Sync";
  const nfd = "/Users/u/Cafe\u0301 Sync";
  assertEquals(
    eventRelPath(`${nfd}/Re\u0301sume\u0301.txt`, [nfc], "/"),
    "R\u00e9sum\u00e9.txt",
  );
  assertEquals(eventRelPath(`${nfc}/a`, [nfd], "/"), "a");
  assertEquals(eventRelPath(nfd, [nfc], "/"), "");
  assertEquals(eventRelPath("/Users/u/Cafe Sync/a", [nfc], "/"), undefined);
});

Deno.test("isInternalPath() marks .dsync contents and *.part files", () => {
  const table: [string, boolean][] = [
    [".dsync", true],
    [".dsync/index.db-wal", true],
    ["sub/.dsync/x", true],
    ["a.part", true],
    ["dir/b.txt.part", true],
    ["x.part/inside", true],
    [".dsyncignore", false],
    [".dsyncx", false],
    ["a.partial", false],
    ["part", false],
    ["notes/a.txt", false],
  ];
  for (const [rel, internal] of table) {
    assertEquals(isInternalPath(rel), internal, rel);
  }
});

Deno.test("isIgnoreFile() is true only for the root .dsyncignore", () => {
  assertEquals(isIgnoreFile(".dsyncignore"), true);
  assertEquals(isIgnoreFile("sub/.dsyncignore"), false);
  assertEquals(isIgnoreFile(".dsyncignore.bak"), false);
});
