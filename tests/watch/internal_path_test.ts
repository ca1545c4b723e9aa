import {
  isInternalEventPath,
  isInternalPath,
} from "../../src/watch/internal_path.ts";
import { assertEquals } from "../assert.ts";

Deno.test("isInternalEventPath() drops only what is surely dsync's own", () => {
  const roots = ["/data/folder", "/real/folder"];
  const cases: [string, string, boolean][] = [
    ["/data/folder/.f.txt.dsync-0a1b.part", "/", true],
    ["/data/folder/a/b/x.part", "/", true],
    ["/data/folder/.dsync/index.db-wal", "/", true],
    ["/real/folder/.dsync", "/", true],
    ["/data/folder/notes.txt", "/", false],
    ["/data/folder/.dsyncignore", "/", false],
    ["/data/folder/part", "/", false],
    // The folder itself, even if its own name looks internal.
    ["/data/folder", "/", false],
    // Outside every root, or a root only as a name prefix.
    ["/data/folder2/x.part", "/", false],
    ["/elsewhere/x.part", "/", false],
  ];
  for (const [path, sep, want] of cases) {
    assertEquals(isInternalEventPath(path, roots, sep), want, path);
  }
  assertEquals(
    isInternalEventPath("C:\\f\\sub\\.dsync\\x", ["C:\\f"], "\\"),
    true,
  );
  assertEquals(isInternalEventPath("C:\\f\\sub\\x", ["C:\\f\\"], "\\"), false);
  assertEquals(isInternalPath("x.part.txt"), false);
});
