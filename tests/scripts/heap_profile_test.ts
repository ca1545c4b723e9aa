import { assertEquals } from "../assert.ts";
import {
  type HeapSnapshot,
  type SamplingNode,
  summarizeSampling,
  summarizeSnapshot,
} from "../../scripts/heap_profile.ts";

function frame(
  functionName: string,
  selfSize: number,
  children: SamplingNode[] = [],
): SamplingNode {
  return {
    callFrame: { functionName, url: "file:///x/src/a.ts", lineNumber: 0 },
    selfSize,
    children,
  };
}

Deno.test("summarizeSampling() sums by function, once per stack for callees", () => {
  // root → pull (10) → decode (100) → pull again (5, recursion) → decode (7)
  const head = frame("(root)", 0, [
    frame("pull", 10, [
      frame("decode", 100, [frame("pull", 5, [frame("decode", 7)])]),
    ]),
    frame("decode", 20),
  ]);
  const s = summarizeSampling(head, 10);
  assertEquals(s.totalBytes, 142);
  assertEquals(s.self, [
    ["decode src/a.ts:1", 127],
    ["pull src/a.ts:1", 15],
  ]);
  // pull's inclusive bytes count the recursive call once: 10+100+5+7.
  assertEquals(s.inclusive, [
    ["(root) src/a.ts:1", 142],
    ["decode src/a.ts:1", 132],
    ["pull src/a.ts:1", 122],
  ]);
});

Deno.test("summarizeSnapshot() groups by constructor and names who holds paths and big arrays", () => {
  // Nodes: 0 root (synthetic), 1 EchoFilter object, 2 Map object,
  // 3 (array) table of 20,000 bytes, 4 "a/b.txt", 5 "x".
  const strings = ["", "EchoFilter", "Map", "table", "a/b.txt", "x", "#m"];
  const N = (type: number, name: number, size: number, edges: number) => [
    type,
    name,
    0,
    size,
    edges,
  ];
  const snapshot: HeapSnapshot = {
    snapshot: {
      meta: {
        node_fields: ["type", "name", "id", "self_size", "edge_count"],
        node_types: [[
          "hidden",
          "array",
          "string",
          "object",
          "synthetic",
          "native",
        ]],
        edge_fields: ["type", "name_or_index", "to_node"],
        edge_types: [["context", "element", "property", "internal", "weak"]],
      },
    },
    nodes: [
      ...N(4, 0, 0, 1),
      ...N(3, 1, 40, 1),
      ...N(3, 2, 32, 1),
      ...N(1, 3, 20_000, 2),
      ...N(2, 4, 24, 0),
      ...N(2, 5, 20, 0),
    ],
    edges: [
      2,
      0,
      5, // root → EchoFilter
      2,
      6,
      10, // EchoFilter.#m → Map
      3,
      3,
      15, // Map.table → array
      1,
      0,
      20, // array[0] → "a/b.txt"
      1,
      1,
      25, // array[1] → "x"
    ],
    strings,
  };
  const s = summarizeSnapshot(snapshot, 10);
  assertEquals(s.totalBytes, 20_116);
  assertEquals(s.byConstructor[0], {
    name: "(array)",
    count: 1,
    bytes: 20_000,
  });
  assertEquals(s.byConstructor[1], { name: "(string)", count: 2, bytes: 44 });
  assertEquals(s.owners, [
    {
      chain:
        "(array) >= 16 KiB .table of Map .#m of EchoFilter . of (synthetic)",
      count: 1,
      bytes: 20_000,
    },
    {
      chain: "path string .[] of (array) .table of Map .#m of EchoFilter",
      count: 1,
      bytes: 24,
    },
  ]);
});
