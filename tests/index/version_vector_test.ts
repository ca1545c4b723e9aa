import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import {
  bump,
  compare,
  counterOf,
  decodeVersion,
  EMPTY_VERSION,
  encodeVersion,
  merge,
  overflowReplica,
  versionOf,
  type VersionOrder,
  type VersionVector,
} from "../../src/index/version_vector.ts";

const A = 1n;
const B = 2n;
const C = 0xffff_ffff_ffff_ffffn;

function v(...pairs: [bigint, number][]): VersionVector {
  return versionOf(pairs);
}

Deno.test("compare() orders vectors", () => {
  const cases: [VersionVector, VersionVector, VersionOrder][] = [
    [EMPTY_VERSION, EMPTY_VERSION, "equal"],
    [v([A, 1]), v([A, 1]), "equal"],
    [v([A, 1], [B, 2]), v([B, 2], [A, 1]), "equal"],
    [v([A, 2]), v([A, 1]), "greater"],
    [v([A, 1]), v([A, 2]), "lesser"],
    [v([A, 1]), EMPTY_VERSION, "greater"],
    [EMPTY_VERSION, v([A, 1]), "lesser"],
    [v([A, 1], [B, 1]), v([A, 1]), "greater"],
    [v([A, 1]), v([A, 1], [B, 1]), "lesser"],
    [v([A, 1]), v([B, 1]), "concurrent"],
    [v([A, 2], [B, 1]), v([A, 1], [B, 2]), "concurrent"],
    [v([A, 1], [C, 5]), v([A, 2], [C, 5]), "lesser"],
    [v([A, 3], [C, 1]), v([B, 1], [C, 1]), "concurrent"],
    [v([A, 0]), EMPTY_VERSION, "equal"],
  ];
  for (const [a, b, expected] of cases) {
    assertStrictEquals(
      compare(a, b),
      expected,
      `${JSON.stringify(a, big)} vs ${JSON.stringify(b, big)}`,
    );
  }
});

function big(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

Deno.test("bump() increments one counter and leaves the input alone", () => {
  const start = v([A, 1]);
  const next = bump(start, B);
  assertStrictEquals(counterOf(next, B), 1);
  assertStrictEquals(counterOf(next, A), 1);
  assertStrictEquals(counterOf(start, B), 0);
  assertStrictEquals(compare(next, start), "greater");
  assertStrictEquals(counterOf(bump(bump(next, A), A), A), 3);
  assert(Object.isFrozen(next));
  assertThrows(() => bump(start, -1n), RangeError);
  assertThrows(() => bump(start, 1n << 64n), RangeError);
});

Deno.test("merge() takes the element-wise maximum", () => {
  const cases: [VersionVector, VersionVector, VersionVector][] = [
    [EMPTY_VERSION, EMPTY_VERSION, EMPTY_VERSION],
    [v([A, 1]), EMPTY_VERSION, v([A, 1])],
    [v([A, 2], [B, 1]), v([A, 1], [B, 3]), v([A, 2], [B, 3])],
    [v([A, 1]), v([C, 4]), v([A, 1], [C, 4])],
  ];
  for (const [a, b, expected] of cases) {
    const merged = merge(a, b);
    assertStrictEquals(compare(merged, expected), "equal");
    assertEquals(merged, expected);
    assertNotStrictEquals(compare(merged, a), "lesser");
    assertNotStrictEquals(compare(merged, b), "lesser");
  }
});

Deno.test("versionOf() sorts, drops zeros and keeps the largest duplicate", () => {
  const vec = versionOf([[C, 1], [A, 0], [B, 2], [B, 5]]);
  assertEquals(vec.map((e) => [e.replica, e.counter]), [[B, 5], [C, 1]]);
  assertThrows(() => versionOf([[A, 1.5]]), RangeError);
  assertThrows(() => versionOf([[A, -1]]), RangeError);
});

Deno.test("encodeVersion() and decodeVersion() round-trip", () => {
  const cases = [
    EMPTY_VERSION,
    v([A, 1]),
    v([A, 7], [B, 2 ** 40], [C, Number.MAX_SAFE_INTEGER]),
  ];
  for (const vec of cases) {
    const bytes = encodeVersion(vec);
    assertStrictEquals(bytes.length, vec.length * 16);
    assertEquals(decodeVersion(bytes), vec);
  }
  assertEquals(
    [...encodeVersion(v([0x0102030405060708n, 9]))],
    [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9],
  );
});

Deno.test("decodeVersion() rejects malformed bytes", () => {
  const good = encodeVersion(v([A, 1], [B, 1]));
  const swapped = new Uint8Array([
    ...good.subarray(16),
    ...good.subarray(0, 16),
  ]);
  const zero = encodeVersion(v([A, 1]));
  zero[15] = 0;
  const huge = encodeVersion(v([A, 1]));
  huge.fill(0xff, 8, 16);
  for (
    const bad of [
      good.subarray(0, 15),
      swapped,
      zero,
      huge,
      new Uint8Array([...good, ...good]),
    ]
  ) {
    assertThrows(() => decodeVersion(bad), RangeError);
  }
});

Deno.test("bump() of a counter at 2^52 counts under the replica's overflow id, which nobody else has", () => {
  const top = versionOf([[A, 2 ** 52], [B, 3]]);
  const next = bump(top, A);
  assertStrictEquals(counterOf(next, A), 2 ** 52);
  assertStrictEquals(counterOf(next, overflowReplica(A)), 1);
  assertStrictEquals(compare(next, top), "greater");
  assertStrictEquals(counterOf(bump(next, A), overflowReplica(A)), 2);
  // The overflow id is fixed per replica, and differs between replicas.
  assertStrictEquals(overflowReplica(A), overflowReplica(1n));
  assertNotStrictEquals(overflowReplica(A), overflowReplica(B));
  assertNotStrictEquals(overflowReplica(A), A);
  // An overflow id at the bound too moves on to its own overflow id.
  const both = versionOf([[A, 2 ** 52], [overflowReplica(A), 2 ** 52]]);
  assertStrictEquals(
    counterOf(bump(both, A), overflowReplica(overflowReplica(A))),
    1,
  );
  // A vector holds at most 256 entries: a chain that long ends in an error.
  const chain: [bigint, number][] = [];
  for (let id = A, i = 0; i < 256; i++, id = overflowReplica(id)) {
    chain.push([id, 2 ** 52]);
  }
  assertThrows(() => bump(versionOf(chain), A), RangeError);
});
