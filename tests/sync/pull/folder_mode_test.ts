import { assertEquals } from "../../assert.ts";
import type { FileRecord } from "../../../src/index/mod.ts";
import {
  type FolderMode,
  holdsBack,
  isLocalChange,
  withholds,
} from "../../../src/sync/pull/folder_mode.ts";
import type { Action } from "../../../src/sync/apply/mod.ts";

const A = 1n;
const B = 2n;
function rec(version: [bigint, number][], deleted = false): FileRecord {
  return {
    path: "f",
    kind: "file",
    size: 1,
    mtimeNs: 0n,
    exec: false,
    hash: new Uint8Array(32),
    chunks: [],
    version: version.map(([replica, counter]) => ({ replica, counter })),
    deleted,
    sequence: 1,
  };
}

Deno.test("isLocalChange() is true only for what no peer record has", () => {
  const table: [string, FileRecord | undefined, FileRecord[], boolean][] = [
    ["no local record", undefined, [rec([[B, 1]])], false],
    ["pulled from the peer", rec([[B, 1]]), [rec([[B, 1]])], false],
    ["the peer moved on", rec([[B, 1]]), [rec([[B, 2]])], false],
    ["edited here", rec([[B, 1], [A, 1]]), [rec([[B, 1]])], true],
    ["concurrent", rec([[A, 1]]), [rec([[B, 1]])], true],
    ["new here", rec([[A, 1]]), [], true],
    ["deleted here", rec([[B, 1], [A, 1]], true), [rec([[B, 1]])], true],
    ["a tombstone nobody has", rec([[A, 2]], true), [], false],
    ["one peer has it", rec([[A, 1]]), [rec([[B, 1]]), rec([[A, 1]])], false],
  ];
  for (const [name, local, remotes, want] of table) {
    assertEquals(isLocalChange(local, remotes), want, name);
  }
});

Deno.test("holdsBack() and withholds() per mode", () => {
  const kinds: Action[] = [
    { kind: "pull" },
    { kind: "delete" },
    { kind: "metadata" },
    { kind: "conflict", winner: "remote" },
  ];
  const table: [FolderMode, boolean, boolean, boolean][] = [
    // mode, local change, held back, withheld
    ["send-receive", false, false, false],
    ["send-receive", true, false, false],
    ["send-only", false, true, false],
    ["send-only", true, true, false],
    ["receive-only", false, false, false],
    ["receive-only", true, true, true],
  ];
  for (const [mode, local, held, withheld] of table) {
    for (const action of kinds) {
      assertEquals(
        holdsBack(mode, action, local),
        held,
        `${mode} ${action.kind}`,
      );
    }
    assertEquals(holdsBack(mode, { kind: "merge-version" }, local), false);
    assertEquals(holdsBack(mode, { kind: "nothing" }, local), false);
    assertEquals(withholds(mode, local), withheld, mode);
  }
});
