import { assertEquals } from "../../assert.ts";
import {
  chooseSource,
  rankSources,
  type SourceCandidate,
} from "../../../src/sync/swarm/mod.ts";

/** A complete holder. */
function whole(key: string, load: number, open = true): SourceCandidate {
  return { key, load, open };
}

/** A partial holder of the chunk indexes `held`. */
function partial(
  key: string,
  load: number,
  held: number[],
  open = true,
): SourceCandidate {
  return { key, load, open, holds: (i) => held.includes(i) };
}

Deno.test("chooseSource() asks the least loaded source that holds the chunk", () => {
  const cases: [
    string,
    SourceCandidate[],
    number,
    string[],
    string[],
    string | undefined,
  ][] = [
    ["no sources", [], 0, [], [], undefined],
    ["one complete holder", [whole("a", 5)], 3, [], [], "a"],
    [
      "least loaded complete holder",
      [whole("a", 5), whole("b", 2)],
      0,
      [],
      [],
      "b",
    ],
    [
      "a partial holder with more free capacity",
      [whole("a", 1 << 20), partial("b", 0, [0, 1, 2])],
      1,
      [],
      [],
      "b",
    ],
    [
      "a partial holder without the chunk is not asked",
      [whole("a", 1 << 20), partial("b", 0, [0, 1, 2])],
      7,
      [],
      [],
      "a",
    ],
    [
      "on a tie the partial holder, sparing the complete one",
      [whole("a", 64), partial("b", 64, [4])],
      4,
      [],
      [],
      "b",
    ],
    [
      "a busier partial holder loses to a free complete holder",
      [whole("a", 0), partial("b", 64, [4])],
      4,
      [],
      [],
      "a",
    ],
    [
      "a distrusted partial holder falls back to the complete holder",
      [whole("a", 1 << 20), partial("b", 0, [4])],
      4,
      [],
      ["b"],
      "a",
    ],
    [
      "a source that failed this chunk is not asked again",
      [whole("a", 0), whole("b", 9)],
      0,
      ["a"],
      [],
      "b",
    ],
    [
      "closed sources are skipped",
      [whole("a", 0, false), partial("b", 0, [0], false), whole("c", 50)],
      0,
      [],
      [],
      "c",
    ],
    [
      "only partial holders, none with the chunk",
      [partial("b", 0, [1]), partial("c", 0, [2])],
      0,
      [],
      [],
      undefined,
    ],
    [
      "distrust ignores a complete holder's key",
      [whole("a", 0)],
      0,
      [],
      ["a"],
      "a",
    ],
  ];
  for (const [what, sources, index, tried, distrusted, want] of cases) {
    const got = chooseSource(sources, index, {
      tried: new Set(tried),
      distrusted: new Set(distrusted),
    });
    assertEquals(got?.key, want, what);
  }
});

Deno.test("rankSources() offers work to the least loaded open source first, a partial holder on a tie", () => {
  const cases: [string, SourceCandidate[], string[]][] = [
    ["none", [], []],
    ["by load", [whole("a", 9), whole("b", 1), whole("c", 5)], [
      "b",
      "c",
      "a",
    ]],
    ["closed left out", [whole("a", 0, false), whole("b", 3)], ["b"]],
    ["tie: partial first", [whole("a", 4), partial("b", 4, [0])], [
      "b",
      "a",
    ]],
    ["load before kind", [whole("a", 1), partial("b", 4, [0])], ["a", "b"]],
  ];
  for (const [name, sources, want] of cases) {
    assertEquals(rankSources(sources).map((s) => s.key), want, name);
  }
});
