import { assertEquals } from "../assert.ts";
import { summarize } from "../../scripts/cpu_prof_summary.ts";

const frame = (functionName: string) => ({
  functionName,
  url: "file:///repo/src/x.ts",
  lineNumber: 0,
});

Deno.test("summarize() gives each function its self time, its time on the stack and its callers", () => {
  // root → main → leaf, root → main, root → other → leaf; 1 ms a sample.
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 4] },
      { id: 2, callFrame: frame("main"), children: [3] },
      { id: 3, callFrame: frame("leaf") },
      { id: 4, callFrame: frame("other"), children: [5] },
      { id: 5, callFrame: frame("leaf") },
    ],
    samples: [3, 3, 2, 5],
    timeDeltas: [0, 1000, 1000, 1000, 1000],
  };
  const rows = summarize(profile);
  const byName = new Map(rows.map((r) => [r.name.split(" ")[0], r]));
  assertEquals(rows[0]!.name.split(" ")[0], "leaf");
  assertEquals(byName.get("leaf")!.selfMs, 3);
  assertEquals(
    byName.get("leaf")!.callers.map(([n, ms]) => [n.split(" ")[0], ms]),
    [
      ["main", 2],
      ["other", 1],
    ],
  );
  assertEquals(byName.get("main")!.selfMs, 1);
  assertEquals(byName.get("main")!.totalMs, 3);
  assertEquals(byName.get("other")!.totalMs, 1);
  assertEquals(byName.get("(root)")!.totalMs, 4);
});
