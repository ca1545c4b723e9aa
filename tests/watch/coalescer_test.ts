import {
  EventCoalescer,
  type EventCoalescerOptions,
  type RescanBatch,
} from "../../src/watch/coalescer.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

type Step =
  | readonly ["add", number, readonly string[]]
  | readonly ["full", number]
  | readonly ["take", number, RescanBatch | undefined]
  | readonly ["due", number | undefined];

interface Case {
  readonly name: string;
  readonly opts?: EventCoalescerOptions;
  readonly steps: readonly Step[];
}

const cases: readonly Case[] = [
  {
    name: "nothing pending gives nothing",
    steps: [["due", undefined], ["take", 1_000, undefined]],
  },
  {
    name: "a batch is due a quiet period after its last event",
    steps: [
      ["add", 0, ["a"]],
      ["due", 75],
      ["take", 74, undefined],
      ["take", 75, ["a"]],
      ["due", undefined],
      ["take", 10_000, undefined],
    ],
  },
  {
    name: "each event pushes the quiet period back",
    steps: [
      ["add", 0, ["a"]],
      ["add", 50, ["a"]],
      ["add", 100, ["b"]],
      ["due", 175],
      ["take", 174, undefined],
      ["take", 175, ["a", "b"]],
    ],
  },
  {
    name: "a constantly written path is flushed after the max delay",
    opts: { quietMs: 75, maxDelayMs: 500 },
    steps: [
      ["add", 0, ["log"]],
      ["add", 60, ["log"]],
      ["add", 120, ["log"]],
      ["add", 180, ["log"]],
      ["add", 240, ["log"]],
      ["add", 300, ["log"]],
      ["add", 360, ["log"]],
      ["add", 420, ["log"]],
      ["add", 480, ["log"]],
      ["due", 500],
      ["take", 499, undefined],
      ["add", 499, ["log"]],
      ["take", 500, ["log"]],
      ["add", 540, ["log"]],
      ["due", 615],
    ],
  },
  {
    name: "custom quiet period",
    opts: { quietMs: 10, maxDelayMs: 20 },
    steps: [
      ["add", 5, ["x"]],
      ["add", 14, ["y"]],
      ["due", 24],
      ["add", 20, ["z"]],
      ["due", 25],
      ["take", 25, ["x", "y", "z"]],
    ],
  },
  {
    name: "paths are deduplicated and sorted",
    steps: [
      ["add", 0, ["b", "a", "b"]],
      ["add", 1, ["c/d", "a"]],
      ["take", 100, ["a", "b", "c/d"]],
    ],
  },
  {
    name: "descendants of a reported directory are dropped, siblings kept",
    steps: [
      ["add", 0, ["a/b/c", "a b", "ab"]],
      ["add", 1, ["a/b"]],
      ["add", 2, ["a/b/d", "a"]],
      ["add", 3, ["a/x/y"]],
      ["take", 100, ["a", "a b", "ab"]],
    ],
  },
  {
    name: "the folder root asks for a full rescan",
    steps: [
      ["add", 0, ["a", "", "b"]],
      ["add", 1, ["c"]],
      ["take", 100, "full"],
      ["add", 200, ["c"]],
      ["take", 300, ["c"]],
    ],
  },
  {
    name: "a full marker swallows paths before and after it",
    steps: [
      ["add", 0, ["a"]],
      ["full", 10],
      ["add", 20, ["b"]],
      ["due", 95],
      ["take", 95, "full"],
    ],
  },
  {
    name: "past the cap, paths collapse to their parents",
    opts: { maxPaths: 3 },
    steps: [
      ["add", 0, ["a/1/x", "a/1/y", "a/2", "b/1"]],
      ["add", 1, ["b/2/deep/er", "c/q/r"]],
      ["take", 100, ["a", "b", "c"]],
      // The next batch starts with full depth again.
      ["add", 200, ["a/1/x", "a/2"]],
      ["take", 300, ["a/1/x", "a/2"]],
    ],
  },
  {
    name: "collapse keeps the deepest level that fits",
    opts: { maxPaths: 3 },
    steps: [
      ["add", 0, ["a/1/x", "a/1/y", "a/2/z", "b"]],
      ["add", 1, ["a/1/w/v"]],
      ["take", 100, ["a/1", "a/2", "b"]],
    ],
  },
  {
    name: "past the cap with no common parent, a full rescan",
    opts: { maxPaths: 2 },
    steps: [
      ["add", 0, ["a", "b", "c/d"]],
      ["add", 1, ["e"]],
      ["take", 100, "full"],
    ],
  },
];

for (const c of cases) {
  Deno.test(`EventCoalescer: ${c.name}`, () => {
    const coalescer = new EventCoalescer(c.opts);
    c.steps.forEach((step, i) => {
      const where = `step ${i} ${JSON.stringify(step)}`;
      switch (step[0]) {
        case "add":
          coalescer.add(step[2], step[1]);
          break;
        case "full":
          coalescer.addFull(step[1]);
          break;
        case "take":
          assertEquals(coalescer.take(step[1]), step[2], where);
          break;
        case "due":
          assertEquals(coalescer.dueAt(), step[1], where);
          break;
      }
    });
  });
}

Deno.test("EventCoalescer.flush() takes a batch before it is due", () => {
  const coalescer = new EventCoalescer();
  assertEquals(coalescer.flush(), undefined);
  coalescer.add(["a"], 0);
  assert(coalescer.pending);
  assertEquals(coalescer.flush(), ["a"]);
  assert(!coalescer.pending);
});

Deno.test("EventCoalescer.add() keeps memory bounded by maxPaths", () => {
  const coalescer = new EventCoalescer({ maxPaths: 1_000 });
  let largest = 0;
  for (let i = 0; i < 100_000; i++) {
    coalescer.add([`dir${i % 100}/sub${i % 7}/file${i}`], i);
    largest = Math.max(largest, coalescer.size);
  }
  assert(largest <= 1_000, `held ${largest} paths`);
  const batch = coalescer.flush();
  assert(batch !== undefined && batch !== "full");
  assertEquals(batch.length, 700);
  assert(batch.includes("dir42/sub0"));
});

Deno.test("EventCoalescer() rejects invalid options", () => {
  assertThrows(() => new EventCoalescer({ quietMs: -1 }), RangeError, "-1");
  assertThrows(
    () => new EventCoalescer({ maxDelayMs: Number.NaN }),
    RangeError,
    "maxDelayMs",
  );
  assertThrows(() => new EventCoalescer({ maxPaths: 0 }), RangeError, "0");
  assertThrows(() => new EventCoalescer({ maxPaths: 1.5 }), RangeError);
});
