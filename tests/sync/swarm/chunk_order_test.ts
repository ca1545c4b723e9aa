import { assert, assertEquals } from "../../assert.ts";
import {
  ChunkOrder,
  orderSeed,
  permutation,
  type Segment,
  SEGMENT_MAX_BYTES,
  SEGMENT_MIN_BYTES,
  segmentBytesFor,
  segmentsOf,
} from "../../../src/sync/swarm/mod.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const everything = () => true;
const nobody = () => 0;

/** Asks `key` until it gets nothing; the indexes it got, in order. */
function drain(
  order: ChunkOrder,
  key: string,
  serves: (i: number) => boolean = everything,
  holders: (i: number) => number = nobody,
): number[] {
  const out: number[] = [];
  for (;;) {
    const i = order.next(key, serves, holders);
    if (i === undefined) return out;
    out.push(i);
  }
}

Deno.test("segmentBytesFor() aims at 64 segments between 1 and 4 MiB", () => {
  const cases: [number, number][] = [
    [0, SEGMENT_MIN_BYTES],
    [16 * MiB, SEGMENT_MIN_BYTES],
    [64 * MiB, SEGMENT_MIN_BYTES],
    [128 * MiB, 2 * MiB],
    [256 * MiB, SEGMENT_MAX_BYTES],
    [4096 * MiB, SEGMENT_MAX_BYTES],
  ];
  for (const [size, want] of cases) {
    assertEquals(segmentBytesFor(size), want, `${size} bytes`);
  }
});

Deno.test("segmentsOf() cuts at chunk boundaries once a segment holds enough", () => {
  const c = (...lengths: number[]) => lengths.map((length) => ({ length }));
  const cases: [string, { length: number }[], number, Segment[]][] = [
    ["no chunks", [], 100, []],
    ["one short segment", c(10, 10), 100, [{ first: 0, count: 2 }]],
    ["exact fit", c(50, 50, 50, 50), 100, [{ first: 0, count: 2 }, {
      first: 2,
      count: 2,
    }]],
    ["overshoot and a short tail", c(60, 60, 60), 100, [
      { first: 0, count: 2 },
      { first: 2, count: 1 },
    ]],
    ["a chunk bigger than a segment", c(300, 10), 100, [
      { first: 0, count: 1 },
      { first: 1, count: 1 },
    ]],
  ];
  for (const [name, chunks, bytes, want] of cases) {
    assertEquals(segmentsOf(chunks, bytes), want, name);
  }
});

Deno.test("permutation() is a deterministic shuffle that differs by seed", () => {
  const a = permutation(64, 1);
  assertEquals([...a].sort((x, y) => x - y), [...Array(64).keys()]);
  assertEquals(permutation(64, 1), a);
  assert(
    JSON.stringify(permutation(64, 2)) !== JSON.stringify(a),
    "seeds 1 and 2 gave the same order",
  );
  assertEquals(permutation(0, 5), []);
  assertEquals(permutation(1, 5), [0]);
  assert(orderSeed(1, "a") !== orderSeed(2, "a"), "seed ignored");
  assert(orderSeed(1, "a") !== orderSeed(1, "b"), "path ignored");
});

Deno.test("ChunkOrder walks its segments in its own order, each from its first chunk", () => {
  const segments = [
    { first: 0, count: 3 },
    { first: 3, count: 3 },
    { first: 6, count: 2 },
  ];
  const order = new ChunkOrder(8, segments, [2, 0, 1]);
  assertEquals(drain(order, "alpha"), [6, 7, 0, 1, 2, 3, 4, 5]);
  assertEquals(order.needed, 0);
  assert(!order.finished, "finished before anything was done");
  for (let i = 0; i < 8; i++) order.markDone(i);
  assert(order.finished, "not finished");
});

Deno.test("ChunkOrder: receivers with other seeds start in other segments", () => {
  const chunks = Array.from({ length: 4096 }, () => ({ length: 64 * KiB }));
  const firsts = new Set<number>();
  for (let seed = 1; seed <= 6; seed++) {
    const order = ChunkOrder.of(chunks, "film.bin", seed);
    firsts.add(order.next("alpha", everything, nobody)!);
  }
  // 64 segments of 4 MiB: six receivers start in (nearly) six places.
  assert(firsts.size >= 5, `only ${firsts.size} distinct starts`);
  for (const i of firsts) assertEquals(i % 64, 0, `start ${i} mid-segment`);
});

Deno.test("ChunkOrder gives each source a lane of its own and the rarest segment first", () => {
  const segments = [0, 1, 2, 3].map((s) => ({ first: s * 4, count: 4 }));
  // Peer beta (still receiving) holds segments 0 and 1; gamma holds 1.
  const betaHolds = (i: number) => i < 8;
  const gammaHolds = (i: number) => i >= 4 && i < 8;
  const holders = (i: number) =>
    (betaHolds(i) ? 1 : 0) + (gammaHolds(i) ? 1 : 0);
  const order = new ChunkOrder(16, segments, [0, 1, 2, 3]);
  // The complete holder is given what no partial holder has.
  assertEquals(order.next("alpha", everything, holders), 8);
  // Beta gets segment 0: it and the complete holder alone have it.
  assertEquals(order.next("beta", betaHolds, holders), 0);
  // Gamma: segment 1, the only one it holds.
  assertEquals(order.next("gamma", gammaHolds, holders), 4);
  // Each continues its lane.
  assertEquals(order.next("alpha", everything, holders), 9);
  assertEquals(order.next("beta", betaHolds, holders), 1);
  assertEquals(order.next("gamma", gammaHolds, holders), 5);
  // Alpha's lane ends; the next rare segment is 3.
  assertEquals(order.next("alpha", everything, holders), 10);
  assertEquals(order.next("alpha", everything, holders), 11);
  assertEquals(order.next("alpha", everything, holders), 12);
});

Deno.test("ChunkOrder shares another lane's segment only when nothing else is left", () => {
  const segments = [{ first: 0, count: 4 }, { first: 4, count: 4 }];
  const order = new ChunkOrder(8, segments, [0, 1]);
  assertEquals(order.next("alpha", everything, nobody), 0);
  assertEquals(order.next("delta", everything, nobody), 4);
  assertEquals(order.next("alpha", everything, nobody), 1);
  // Delta's lane continues, then it helps with alpha's.
  assertEquals(drain(order, "delta"), [5, 6, 7, 2, 3]);
  assertEquals(order.next("alpha", everything, nobody), undefined);
});

Deno.test("ChunkOrder asks a partial holder only for chunks it serves", () => {
  const segments = [{ first: 0, count: 4 }, { first: 4, count: 4 }];
  const order = new ChunkOrder(8, segments, [1, 0]);
  const holds = (i: number) => i === 2 || i === 3 || i === 5;
  // Segment 1 (its own first) starts with chunk 4, which beta lacks;
  // segment 0's first needed chunk is 0, which it lacks too.
  assertEquals(order.next("beta", holds, nobody), undefined);
  assertEquals(order.next("alpha", everything, nobody), 4);
  // Alpha's lane holds 4; beta's first needed chunk of segment 1 is 5.
  assertEquals(order.next("beta", holds, nobody), 5);
  assertEquals(order.next("beta", holds, nobody), undefined);
});

Deno.test("ChunkOrder asks again for a released chunk, and never twice for one asked", () => {
  const order = new ChunkOrder(4, [{ first: 0, count: 4 }], [0]);
  assertEquals(drain(order, "alpha"), [0, 1, 2, 3]);
  order.markDone(0);
  order.markDone(1);
  order.release(2);
  order.release(0); // done: not needed again
  assertEquals(order.needed, 1);
  // Beta failed chunk 2 (the caller's `serves` says so); alpha gets it.
  assertEquals(order.next("beta", (i) => i !== 2, nobody), undefined);
  assertEquals(order.next("alpha", everything, nobody), 2);
  order.markDone(2);
  order.markDone(3);
  assert(order.finished, "not finished");
});

Deno.test("ChunkOrder skips chunks done before any was asked (kept in place)", () => {
  const order = new ChunkOrder(6, [{ first: 0, count: 3 }, {
    first: 3,
    count: 3,
  }], [0, 1]);
  for (const i of [0, 1, 4]) order.markDone(i);
  assertEquals(order.needed, 3);
  assertEquals(drain(order, "alpha"), [2, 3, 5]);
});
