/**
 * The chaos suite's pure planning: the seeded stream, the operations drawn
 * from a model (only names dsync syncs, only on things the model holds,
 * the same plan for the same seed), the fault plan (a healthy peer at all
 * times) and the token format.
 * @module
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { Rng } from "../../scripts/chaos/rng.ts";
import {
  applyToModel,
  DEFAULT_OPTIONS,
  emptyModel,
  isSafeName,
  type Model,
  nextOperation,
  type Operation,
  planOperations,
} from "../../scripts/chaos/generator.ts";
import { planFaults } from "../../scripts/chaos/fault_plan.ts";
import {
  appendLine,
  fileContent,
  tokensIn,
} from "../../scripts/chaos/content.ts";
import { planRun } from "../../scripts/chaos/runner.ts";
import { parseChaosArgs } from "../../scripts/chaos.ts";

Deno.test("Rng gives the same stream for the same seed and stays in range", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 100 }, () => a.int(3, 9));
  assertEquals(xs, Array.from({ length: 100 }, () => b.int(3, 9)));
  assert(xs.every((x) => x >= 3 && x <= 9));
  assert(new Set(xs).size === 7, "every value of 3..9 comes up");
  assert(
    Array.from({ length: 10 }, () => c.nextU32()).join() !==
      Array.from({ length: 10 }, () => new Rng(42).nextU32()).join(),
  );
  assertThrows(() => new Rng(-1), RangeError);
  assertEquals(new Rng(1).weighted({ a: 0, b: 5 }), "b");
});

const NAME_CASES: [string, boolean][] = [
  ["notes-1.txt", true],
  ["caf\u00e9-2.md", true],
  ["cafe\u0301-2.md", false], // NFD
  ["d/\u65e5\u672c-3", true],
  ["x.part", false],
  [".dsync/x", false],
  [".dsyncignore", false],
  ["a.sync-conflict-20250101-000000-AB.txt", false],
  ["junk.tmp", false],
  ["node_modules/a", false],
  [".hidden", false],
  ["a//b", false],
];
for (const [name, safe] of NAME_CASES) {
  Deno.test(`isSafeName(${JSON.stringify(name)}) is ${safe}`, () => {
    assertEquals(isSafeName(name), safe);
  });
}

/** Checks one drawn operation against the model it was drawn from. */
function problemsOf(model: Model, op: Operation): string[] {
  const out: string[] = [];
  const exists = (p: string) => model.files.has(p);
  const isDir = (p: string) => model.dirs.has(p);
  const caseTwin = (p: string) =>
    [...model.files.keys(), ...model.dirs].some((q) =>
      q !== p && q.toLowerCase() === p.toLowerCase()
    );
  const fresh = (p: string) => {
    if (!isSafeName(p)) out.push(`unsafe name ${p}`);
    if (caseTwin(p)) out.push(`case twin of ${p}`);
    if (p.split("/").length > DEFAULT_OPTIONS.maxDepth + 1) {
      out.push(`too deep: ${p}`);
    }
  };
  switch (op.kind) {
    case "create":
    case "empty":
      if (exists(op.path) || isDir(op.path)) out.push(`exists: ${op.path}`);
      fresh(op.path);
      break;
    case "overwrite":
    case "append":
    case "delete":
    case "chmod":
      if (!exists(op.path)) out.push(`no file ${op.path}`);
      break;
    case "rename":
      if (!exists(op.path)) out.push(`no file ${op.path}`);
      if (exists(op.to) || isDir(op.to)) out.push(`target exists ${op.to}`);
      fresh(op.to);
      break;
    case "mkdir":
      if (isDir(op.path) || exists(op.path)) out.push(`exists ${op.path}`);
      fresh(op.path);
      break;
    case "renameDir":
      if (!isDir(op.path)) out.push(`no folder ${op.path}`);
      if (op.to.startsWith(`${op.path}/`)) out.push(`into itself ${op.to}`);
      fresh(op.to);
      break;
    case "rmdir":
      if (!isDir(op.path)) out.push(`no folder ${op.path}`);
      break;
    case "concurrent":
      if (!exists(op.path)) fresh(op.path);
      if (op.writes[0].peer === op.writes[1].peer) out.push("same peer twice");
      if (op.delayMs < 0 || op.delayMs > 150) out.push(`delay ${op.delayMs}`);
      break;
  }
  return out;
}

Deno.test("nextOperation() draws only valid operations over a long run", () => {
  for (const seed of [1, 2, 3, 12345]) {
    const rng = new Rng(seed);
    let model = emptyModel(3, seed);
    const kinds = new Set<string>();
    const sizes: number[] = [];
    for (let i = 0; i < 1500; i++) {
      const { planned, counter } = nextOperation(rng, model);
      const op = planned.op;
      kinds.add(op.kind);
      assertEquals(
        problemsOf(model, op),
        [],
        `seed ${seed} op ${i} ${JSON.stringify(op)}`,
      );
      assert(planned.gapMs >= 0);
      if ("write" in op) sizes.push(op.write.size);
      model = applyToModel(model, op, counter);
      // The model itself holds no case twins and only safe names.
      const all = [...model.files.keys(), ...model.dirs];
      assertEquals(new Set(all.map((p) => p.toLowerCase())).size, all.length);
    }
    assertEquals(kinds.size, 11, `every kind drawn: ${[...kinds]}`);
    assert(sizes.some((s) => s === 0), "empty payloads");
    assert(sizes.some((s) => s > 1024 * 1024), "large files");
    assert(sizes.every((s) => s <= DEFAULT_OPTIONS.maxSize));
  }
});

Deno.test("nextOperation() from an empty folder can only make things", () => {
  for (let seed = 0; seed < 50; seed++) {
    const { planned } = nextOperation(new Rng(seed), emptyModel(3, seed));
    assert(
      ["create", "empty", "mkdir", "concurrent"].includes(planned.op.kind),
      planned.op.kind,
    );
  }
});

Deno.test("nextOperation() never draws concurrent writes with one peer", () => {
  let model = emptyModel(1, 7);
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    const { planned, counter } = nextOperation(rng, model);
    assert(planned.op.kind !== "concurrent");
    model = applyToModel(model, planned.op, counter);
  }
});

Deno.test("planRun() is the same for the same seed and differs across seeds", () => {
  const options = {
    seed: 99,
    durationMs: 60_000,
    peers: 3,
    concurrentWeight: 8,
  };
  const a = planRun(options);
  assertEquals(JSON.stringify(a), JSON.stringify(planRun(options)));
  assert(
    JSON.stringify(a) !== JSON.stringify(planRun({ ...options, seed: 100 })),
  );
  const total = a.ops.reduce((sum, p) => sum + p.gapMs, 0);
  assert(total <= 60_000);
  assert(a.ops.length > 60, `a few per second: ${a.ops.length}`);
  const concurrent = a.ops.filter((p) => p.op.kind === "concurrent").length;
  assert(
    concurrent >= 4,
    `several near-simultaneous writes a minute: ${concurrent}`,
  );
});

Deno.test("planOperations() stops at the duration", () => {
  const plan = planOperations(new Rng(5), emptyModel(2, 5), 0);
  assertEquals(plan, []);
});

Deno.test("planFaults() keeps a healthy peer at all times and ends in time", () => {
  for (const peers of [2, 3, 5]) {
    for (let seed = 0; seed < 30; seed++) {
      const faults = planFaults(new Rng(seed), {
        peers,
        durationMs: 120_000,
        kinds: ["kill", "stop", "cut"],
        meanGapMs: 5_000,
      });
      assert(faults.length > 0);
      for (const f of faults) {
        assert(f.atMs + f.durationMs < 120_000);
        assert(f.peer >= 0 && f.peer < peers);
        // At f's start, which faults are active (including itself)?
        const active = faults.filter((g) =>
          g.atMs <= f.atMs && f.atMs < g.atMs + g.durationMs
        );
        assert(active.length < peers, `seed ${seed}: ${active.length} at once`);
        assertEquals(new Set(active.map((g) => g.peer)).size, active.length);
      }
    }
  }
  assertEquals(
    planFaults(new Rng(1), {
      peers: 1,
      durationMs: 60_000,
      kinds: ["kill"],
      meanGapMs: 1000,
    }),
    [],
  );
});

Deno.test("fileContent() and appendLine() carry tokens tokensIn() finds", () => {
  for (const size of [0, 10, 70_000, 2 * 1024 * 1024]) {
    const body = fileContent("7-3", size);
    const appended = new Uint8Array([...body, ...appendLine("7-9")]);
    assertEquals(tokensIn(appended), ["7-3", "7-9"]);
    assertEquals(body.length, "chaos-token:7-3\n".length + size);
  }
  assertEquals(fileContent("1-1", 500), fileContent("1-1", 500));
  assertEquals(tokensIn(new TextEncoder().encode("chaos-token:1-1")), []);
});

const ARG_CASES: [string[], string | undefined][] = [
  [["--seed", "5", "--duration", "30", "--peers", "4"], undefined],
  [["--seed", "x"], "Invalid --seed"],
  [["--peers", "1"], "Invalid --peers"],
  [["--duration", "0"], "Invalid --duration"],
  [["--bogus"], "Unknown option"],
  [["extra"], "Unexpected argument"],
];
for (const [args, error] of ARG_CASES) {
  Deno.test(`parseChaosArgs(${args.join(" ")}) ${error ?? "parses"}`, () => {
    if (error === undefined) {
      const parsed = parseChaosArgs(args);
      assertEquals([parsed.seed, parsed.durationS, parsed.peers], [5, 30, 4]);
    } else {
      assertThrows(() => parseChaosArgs(args), Error, error);
    }
  });
}
