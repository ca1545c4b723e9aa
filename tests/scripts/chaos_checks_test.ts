/**
 * The chaos suite's checks, on made-up journals and trees: each rule must
 * catch what it is for and stay silent on outcomes dsync's promises allow
 * (a false alarm is a bug of the suite).
 * @module
 */
import { assertEquals } from "../assert.ts";
import {
  checkRun,
  type FileEntry,
  logProblems,
  type ProblemKind,
  type Tree,
  type TreeEntry,
} from "../../scripts/chaos/checks.ts";
import type { FaultRecord, JournalEntry } from "../../scripts/chaos/journal.ts";
import { sliceFor } from "../../scripts/chaos/journal.ts";

let seq = 0;
function op(
  fields: Partial<JournalEntry> & Pick<JournalEntry, "kind" | "path" | "t">,
): JournalEntry {
  return {
    seq: seq++,
    opIndex: seq,
    peer: "alpha",
    tEnd: fields.t + 5,
    seen: [],
    replaced: [],
    outcome: "done",
    peerState: "up",
    ...fields,
  };
}

function file(tokens: string[], exec = false): FileEntry {
  return { kind: "file", exec, size: 10, hash: tokens.join("+"), tokens };
}

/** The same tree on alpha, beta and gamma. */
function everywhere(entries: Record<string, TreeEntry>): Map<string, Tree> {
  const tree = new Map(Object.entries(entries));
  return new Map([["alpha", tree], ["beta", tree], ["gamma", tree]]);
}

interface Case {
  name: string;
  entries: JournalEntry[];
  faults?: FaultRecord[];
  trees: Map<string, Tree>;
  expected: ProblemKind[];
}

const CASES: Case[] = [
  {
    name: "a write that is still there",
    entries: [op({ kind: "create", path: "a.txt", t: 0, token: "1-0" })],
    trees: everywhere({ "a.txt": file(["1-0"]) }),
    expected: [],
  },
  {
    name: "a write that is nowhere and that nothing replaced",
    entries: [op({ kind: "create", path: "a.txt", t: 0, token: "1-0" })],
    trees: everywhere({}),
    expected: ["lost-write"],
  },
  {
    name: "a write an overwrite saw and replaced",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "overwrite",
        path: "a.txt",
        t: 2000,
        peer: "beta",
        token: "1-1",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-1"]) }),
    expected: [],
  },
  {
    name: "the loser of two concurrent writes kept as a conflict copy",
    entries: [
      op({ kind: "concurrent", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "concurrent",
        path: "a.txt",
        t: 40,
        peer: "beta",
        token: "1-1",
      }),
    ],
    trees: everywhere({
      "a.txt": file(["1-1"]),
      "a.sync-conflict-20250101-120000-ABCD.txt": file(["1-0"]),
    }),
    expected: [],
  },
  {
    name: "the newer of two concurrent writes lost",
    entries: [
      op({ kind: "concurrent", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "concurrent",
        path: "a.txt",
        t: 40,
        peer: "beta",
        token: "1-1",
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-0"]) }),
    expected: ["lost-write"],
  },
  {
    name: "a write moved by a rename",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "rename",
        path: "a.txt",
        to: "d/b.txt",
        t: 3000,
        seen: [{ path: "d/b.txt", tokens: ["1-0"] }],
      }),
    ],
    trees: everywhere({ "d": { kind: "dir" }, "d/b.txt": file(["1-0"]) }),
    expected: [],
  },
  {
    name: "skipped and orphaned writes are not required",
    entries: [
      op({
        kind: "append",
        path: "a.txt",
        t: 0,
        token: "1-0",
        outcome: "skipped",
      }),
      op({
        kind: "overwrite",
        path: "b.txt",
        t: 0,
        token: "1-1",
        outcome: "orphaned",
      }),
    ],
    trees: everywhere({}),
    expected: [],
  },
  {
    name: "a write missing on one peer only",
    entries: [op({ kind: "create", path: "a.txt", t: 0, token: "1-0" })],
    trees: new Map<string, Tree>([
      ["alpha", new Map([["a.txt", file(["1-0"])]])],
      ["beta", new Map()],
    ]),
    expected: ["diverged", "lost-write"],
  },
  {
    name: "trees differing only in an exec bit",
    entries: [],
    trees: new Map<string, Tree>([
      ["alpha", new Map([["a", file([], true)]])],
      ["beta", new Map([["a", file([], false)]])],
    ]),
    expected: ["diverged"],
  },
  {
    name: "a .part file left in a subfolder",
    entries: [],
    trees: everywhere({ "d": { kind: "dir" }, "d/x.bin.part": file([]) }),
    expected: ["part-file"],
  },
  {
    name: "a delete that nothing raced, undone",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 20_000,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-0"]) }),
    expected: ["resurrected"],
  },
  {
    name: "a delete that nothing raced, kept",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 20_000,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({}),
    expected: [],
  },
  {
    name: "a delete beaten by a concurrent append (edit wins)",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "append",
        path: "a.txt",
        t: 19_950,
        token: "1-2",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
      }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 20_000,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-0", "1-2"]) }),
    expected: [],
  },
  {
    name:
      "a delete beaten by an old append it never saw (its peer was cut off)",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "append",
        path: "a.txt",
        t: 1_000,
        token: "1-2",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
      }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 30_000,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-0", "1-2"]) }),
    expected: [],
  },
  {
    name: "a delete across a fault of the deleting peer after an old chmod",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "chmod",
        path: "a.txt",
        t: 1_000,
        exec: true,
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
      }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 30_000,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    faults: [{ kind: "cut", peer: "beta", t: 500, tEnd: 8_000 }],
    trees: everywhere({ "a.txt": file(["1-0"], true) }),
    expected: [],
  },
  {
    name: "a folder delete undone",
    entries: [
      op({ kind: "create", path: "d/a.txt", t: 0, token: "1-0" }),
      op({
        kind: "rmdir",
        path: "d",
        t: 20_000,
        peer: "gamma",
        seen: [{ path: "d/a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "d": { kind: "dir" }, "d/a.txt": file(["1-0"]) }),
    expected: ["resurrected"],
  },
  {
    name: "a chmod on content nothing else touched, not synced",
    entries: [
      op({ kind: "create", path: "run.sh", t: 0, token: "1-0" }),
      op({
        kind: "chmod",
        path: "run.sh",
        t: 15_000,
        peer: "beta",
        exec: true,
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
      }),
    ],
    trees: everywhere({ "run.sh": file(["1-0"], false) }),
    expected: ["chmod-lost"],
  },
  {
    name: "a chmod followed by an overwrite",
    entries: [
      op({ kind: "create", path: "run.sh", t: 0, token: "1-0" }),
      op({
        kind: "chmod",
        path: "run.sh",
        t: 15_000,
        peer: "beta",
        exec: true,
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
      }),
      op({
        kind: "overwrite",
        path: "run.sh",
        t: 16_000,
        token: "1-1",
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "run.sh": file(["1-1"], false) }),
    expected: [],
  },
  {
    // The pulled file's mode change must still be announced.
    name: "a chmod soon after the create it saw, not synced",
    entries: [
      op({ kind: "create", path: "run.sh", t: 0, token: "1-0" }),
      op({
        kind: "chmod",
        path: "run.sh",
        t: 500,
        peer: "beta",
        exec: true,
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
      }),
    ],
    trees: everywhere({ "run.sh": file(["1-0"], false) }),
    expected: ["chmod-lost"],
  },
  {
    name: "two chmods on two peers a moment apart",
    entries: [
      op({ kind: "create", path: "run.sh", t: 0, token: "1-0" }),
      op({
        kind: "chmod",
        path: "run.sh",
        t: 15_000,
        peer: "beta",
        exec: true,
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
      }),
      op({
        kind: "chmod",
        path: "run.sh",
        t: 15_050,
        peer: "gamma",
        exec: false,
        seen: [{ path: "run.sh", tokens: ["1-0"] }],
      }),
    ],
    trees: everywhere({ "run.sh": file(["1-0"], false) }),
    expected: [],
  },
  {
    name: "a delete soon after the write it saw, undone",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 800,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-0"]) }),
    expected: ["resurrected"],
  },
  {
    name: "a delete soon after a write it did not see (edit wins)",
    entries: [
      op({ kind: "create", path: "a.txt", t: 0, token: "1-0" }),
      op({
        kind: "overwrite",
        path: "a.txt",
        t: 5_000,
        token: "1-1",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
      op({
        kind: "delete",
        path: "a.txt",
        t: 5_100,
        peer: "beta",
        seen: [{ path: "a.txt", tokens: ["1-0"] }],
        replaced: ["1-0"],
      }),
    ],
    trees: everywhere({ "a.txt": file(["1-1"]) }),
    expected: [],
  },
];

for (const c of CASES) {
  Deno.test(`checkRun() on ${c.name}: ${c.expected.join(", ") || "no problem"}`, () => {
    const problems = checkRun({
      entries: c.entries,
      faults: c.faults ?? [],
      trees: c.trees,
    });
    assertEquals(
      problems.map((p) => p.kind),
      c.expected,
      problems.map((p) => p.message).join("\n"),
    );
  });
}

Deno.test("checkRun() names the lost write's paths, including where it was renamed to", () => {
  const entries = [
    op({ kind: "create", path: "a.txt", t: 0, token: "9-0" }),
    op({
      kind: "rename",
      path: "a.txt",
      to: "b.txt",
      t: 100,
      seen: [{ path: "b.txt", tokens: ["9-0"] }],
    }),
  ];
  const [problem] = checkRun({ entries, faults: [], trees: everywhere({}) });
  assertEquals(problem?.kind, "lost-write");
  assertEquals(problem?.paths, ["a.txt", "b.txt"]);
  assertEquals(sliceFor(entries, "b.txt").length, 1);
  assertEquals(sliceFor(entries, "a.txt").length, 2);
});

Deno.test("sliceFor() includes operations on the folders holding a path", () => {
  const entries = [
    op({ kind: "mkdir", path: "d", t: 0 }),
    op({ kind: "create", path: "d/e/a.txt", t: 1, token: "1-0" }),
    op({ kind: "renameDir", path: "d", to: "x", t: 2 }),
    op({ kind: "create", path: "other.txt", t: 3, token: "1-1" }),
  ];
  assertEquals(sliceFor(entries, "d/e/a.txt").map((e) => e.kind), [
    "mkdir",
    "create",
    "renameDir",
  ]);
});

const LOG_CASES: [string, string, number][] = [
  [
    "ordinary log lines",
    "12:00:00 INF Indexed 3 files\n12:00:01 WRN Peer beta left",
    0,
  ],
  [
    "an uncaught error",
    "error: Uncaught (in promise) TypeError: x\n    at foo (file:///a.ts:1:2)",
    1,
  ],
  ["a panic", "thread 'main' panicked at src/lib.rs:1:1", 1],
  [
    "a bare stack frame",
    "    at async Puller.run (file:///src/sync/puller.ts:10:5)",
    1,
  ],
];
for (const [name, output, count] of LOG_CASES) {
  Deno.test(`logProblems() on ${name}: ${count} problem(s)`, () => {
    assertEquals(logProblems("alpha", output).length, count);
  });
}
