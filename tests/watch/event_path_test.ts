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
