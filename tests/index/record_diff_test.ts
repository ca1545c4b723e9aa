import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  ChunkDiffError,
  chunkListHash,
  diffChunkLists,
  type ListChunk,
  rebuildChunkList,
} from "../../src/index/record_diff.ts";
import { fileHashOfChunks } from "../../src/index/hash.ts";

/** Chunk `n`: a hash from the number, a length of 60,000 + n. */
function chunk(n: number, length = 60_000 + n): ListChunk {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, n);
  hash[31] = n & 0xff;
  return { length, hash };
}

function list(...ns: number[]): ListChunk[] {
  return ns.map((n) => chunk(n));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function claimOf(chunks: readonly ListChunk[]) {
  return {
    total: chunks.length,
    listHash: chunkListHash(chunks),
    hash: fileHashOfChunks(chunks),
    size: chunks.reduce((sum, c) => sum + c.length, 0),
  };
}

const CASES: readonly {
  name: string;
  base: number[];
  next: number[];
  edits: { keep: number; drop: number; add: number }[];
  added: number;
}[] = [
  {
    name: "equal lists",
    base: [1, 2, 3],
    next: [1, 2, 3],
    edits: [],
    added: 0,
  },
  {
    name: "a chunk replaced in place",
    base: [1, 2, 3, 4, 5],
    next: [1, 2, 9, 4, 5],
    edits: [{ keep: 2, drop: 1, add: 1 }],
    added: 1,
  },
  {
    name: "two runs replaced",
    base: range(0, 20),
    next: [0, 1, 100, 101, ...range(4, 10), 102, ...range(11, 20)],
    edits: [{ keep: 2, drop: 2, add: 2 }, { keep: 6, drop: 1, add: 1 }],
    added: 3,
  },
  {
    name: "first chunk changed",
    base: [1, 2, 3],
    next: [7, 2, 3],
    edits: [{ keep: 0, drop: 1, add: 1 }],
    added: 1,
  },
  {
    name: "appended",
    base: [1, 2, 3],
    next: [1, 2, 3, 4, 5],
    edits: [{ keep: 3, drop: 0, add: 2 }],
    added: 2,
  },
  {
    name: "truncated",
    base: [1, 2, 3, 4, 5],
    next: [1, 2],
    edits: [{ keep: 2, drop: 3, add: 0 }],
    added: 0,
  },
  {
    name: "inserted in the middle",
    base: [1, 2, 3, 4],
    next: [1, 2, 8, 9, 3, 4],
    edits: [{ keep: 2, drop: 0, add: 2 }],
    added: 2,
  },
  {
    name: "removed from the middle",
    base: [1, 2, 3, 4, 5],
    next: [1, 4, 5],
    edits: [{ keep: 1, drop: 2, add: 0 }],
    added: 0,
  },
  {
    name: "emptied",
    base: [1, 2],
    next: [],
    edits: [{ keep: 0, drop: 2, add: 0 }],
    added: 0,
  },
  {
    name: "from empty",
    base: [],
    next: [1, 2],
    edits: [{ keep: 0, drop: 0, add: 2 }],
    added: 2,
  },
  {
    name: "repeated chunks (a run of zeros) changed in the middle",
    base: [5, 5, 5, 5, 5, 5],
    next: [5, 5, 6, 5, 5, 5],
    edits: [{ keep: 2, drop: 1, add: 1 }],
    added: 1,
  },
];

Deno.test("diffChunkLists() gives the smallest edits for changes in place, and rebuildChunkList() undoes them", () => {
  for (const c of CASES) {
    const base = list(...c.base);
    const next = list(...c.next);
    const diff = diffChunkLists(base, next);
    assertEquals(diff.edits, c.edits, c.name);
    assertEquals(diff.added.length, c.added, c.name);
    assertEquals(rebuildChunkList(base, diff, claimOf(next)), next, c.name);
  }
});

Deno.test("diffChunkLists() output always rebuilds the new list (random edits)", () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const base = Array.from({ length: random(60) }, () => random(40));
    const next = [...base];
    for (let e = random(5); e > 0; e--) {
      const at = random(next.length + 1);
      const op = random(3);
      if (op === 0) next.splice(at, random(4), ...range(100, 100 + random(3)));
      else if (op === 1) next.splice(at, random(6));
      else next.splice(at, 0, random(40));
    }
    const b = list(...base);
    const n = list(...next);
    const diff = diffChunkLists(b, n);
    assertEquals(rebuildChunkList(b, diff, claimOf(n)), n, `round ${round}`);
    for (let i = 1; i < diff.edits.length; i++) {
      assert(diff.edits[i]!.keep > 0, `round ${round}: canonical edits`);
    }
  }
});

Deno.test("rebuildChunkList() refuses a diff that does not give the claimed list", () => {
  const base = list(...range(0, 10));
  const next = list(0, 1, 50, ...range(3, 10));
  const diff = diffChunkLists(base, next);
  const claim = claimOf(next);
  const cases: [string, () => unknown][] = [
    [
      "another base",
      () => rebuildChunkList(list(...range(1, 11)), diff, claim),
    ],
    ["a shorter base", () => rebuildChunkList(base.slice(0, 9), diff, claim)],
    [
      "a longer base",
      () => rebuildChunkList([...base, chunk(99)], diff, claim),
    ],
    [
      "edits past the base",
      () =>
        rebuildChunkList(base, {
          edits: [{ keep: 9, drop: 3, add: 1 }],
          added: diff.added,
        }, claim),
    ],
    [
      "edits adding more than given",
      () =>
        rebuildChunkList(base, {
          edits: [{ keep: 2, drop: 1, add: 2 }],
          added: diff.added,
        }, claim),
    ],
    [
      "a wrong total",
      () => rebuildChunkList(base, diff, { ...claim, total: 11 }),
    ],
    ["a wrong size", () => rebuildChunkList(base, diff, { ...claim, size: 1 })],
    [
      "a wrong list hash",
      () =>
        rebuildChunkList(base, diff, {
          ...claim,
          listHash: new Uint8Array(32),
        }),
    ],
    [
      "a wrong file hash",
      () =>
        rebuildChunkList(base, diff, { ...claim, hash: new Uint8Array(32) }),
    ],
    [
      // Same hashes, lengths moved between two chunks: the file hash and the
      // size match, the list hash does not.
      "lengths swapped",
      () =>
        rebuildChunkList(
          [chunk(0, 100), chunk(1, 200), ...base.slice(2)],
          diff,
          claimOf([chunk(0, 200), chunk(1, 100), ...next.slice(2)]),
        ),
    ],
  ];
  for (const [what, call] of cases) {
    assertThrows(call, ChunkDiffError, undefined, what);
  }
});

Deno.test("chunkListHash() covers lengths and order, not only hashes", () => {
  const a = chunkListHash([chunk(1, 10), chunk(2, 20)]);
  assertEquals(a, chunkListHash([chunk(1, 10), chunk(2, 20)]));
  assert(
    a.toString() !== chunkListHash([chunk(1, 20), chunk(2, 10)]).toString(),
  );
  assert(
    a.toString() !== chunkListHash([chunk(2, 20), chunk(1, 10)]).toString(),
  );
  // Past one stage of hashed entries, the same as fed whole.
  const long = list(...range(0, 5000));
  assertEquals(chunkListHash(long), chunkListHash(long.slice()));
  assert(
    chunkListHash(long).toString() !==
      chunkListHash(long.slice(0, 4999)).toString(),
  );
});
