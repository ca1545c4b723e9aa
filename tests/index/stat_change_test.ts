import { assertStrictEquals } from "../assert.ts";
import {
  decideStatChange,
  type ObservedStat,
  type StatVerdict,
} from "../../src/index/stat_change.ts";
import type { StoredStat } from "../../src/index/store.ts";

const stored: StoredStat = {
  path: "a",
  kind: "file",
  size: 10,
  mtimeMs: 1_000,
  exec: false,
  deleted: false,
  inode: 7,
  dev: 1,
};
const { inode: _inode, ...storedWithoutInode } = stored;
const same: ObservedStat = {
  kind: "file",
  size: 10,
  mtimeMs: 1_000,
  exec: false,
  inode: 7,
};

Deno.test("decideStatChange() decides from stored and observed stat", () => {
  const cases: [
    string,
    StoredStat | undefined,
    ObservedStat,
    boolean,
    StatVerdict,
  ][] = [
    ["unchanged", stored, same, false, "unchanged"],
    ["new path", undefined, same, false, "changed"],
    ["tombstone", { ...stored, deleted: true }, same, false, "changed"],
    ["size", stored, { ...same, size: 11 }, false, "changed"],
    ["mtime", stored, { ...same, mtimeMs: 1_001 }, false, "changed"],
    ["inode", stored, { ...same, inode: 8 }, false, "changed"],
    ["no inode stored", storedWithoutInode, same, false, "unchanged"],
    [
      "no inode observed",
      stored,
      { kind: "file", size: 10, mtimeMs: 1_000, exec: false },
      false,
      "unchanged",
    ],
    ["exec only", stored, { ...same, exec: true }, false, "exec"],
    [
      "exec and size",
      stored,
      { ...same, exec: true, size: 1 },
      false,
      "changed",
    ],
    ["racy", stored, same, true, "changed"],
    ["kind", stored, { ...same, kind: "dir" }, false, "changed"],
    [
      "dir mtime",
      { ...stored, kind: "dir", size: 0 },
      { ...same, kind: "dir", size: 0, mtimeMs: 5 },
      false,
      "unchanged",
    ],
    [
      "symlink",
      { ...stored, kind: "symlink" },
      { ...same, kind: "symlink" },
      false,
      "unchanged",
    ],
    [
      "symlink moved",
      { ...stored, kind: "symlink" },
      { ...same, kind: "symlink", mtimeMs: 2 },
      false,
      "changed",
    ],
  ];
  for (const [name, before, now, racy, expected] of cases) {
    assertStrictEquals(decideStatChange(before, now, racy), expected, name);
  }
});
