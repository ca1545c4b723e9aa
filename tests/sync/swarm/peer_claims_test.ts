import { assertEquals } from "../../assert.ts";
import { PeerClaims } from "../../../src/sync/swarm/mod.ts";
import type { Availability } from "../../../src/protocol/mod.ts";

function hash(seed: number): Uint8Array {
  return new Uint8Array(32).fill(seed);
}

function availability(
  path: string,
  seed: number,
  ranges: { start: number; count: number }[],
): Availability {
  return { type: "availability", path, hash: hash(seed), ranges };
}

Deno.test("PeerClaims keeps the last claim per path and version, withdrawn by an empty one", () => {
  const claims = new PeerClaims();
  claims.take(availability("f", 1, [{ start: 0, count: 3 }]));
  assertEquals(claims.claims("f", hash(1)), true);
  assertEquals(claims.claims("f", hash(2)), false, "another version");
  assertEquals(claims.holds("f", hash(1), 2), true);
  assertEquals(claims.holds("f", hash(1), 3), false);
  assertEquals(claims.holds("g", hash(1), 0), false, "another path");
  claims.take(availability("f", 1, [{ start: 0, count: 5 }]));
  assertEquals(claims.holds("f", hash(1), 4), true, "the claim grew");
  claims.take(availability("f", 2, [{ start: 9, count: 1 }]));
  assertEquals(claims.holds("f", hash(1), 0), false, "a new version replaces");
  assertEquals(claims.holds("f", hash(2), 9), true);
  claims.take(availability("f", 2, []));
  assertEquals(claims.claims("f", hash(2)), false, "withdrawn");
  assertEquals(claims.size, 0);
});

Deno.test("PeerClaims copies what it keeps out of the message buffer", () => {
  const claims = new PeerClaims();
  const msg = availability("f", 1, [{ start: 0, count: 1 }]);
  claims.take(msg);
  msg.hash.fill(7);
  assertEquals(claims.claims("f", hash(1)), true);
});

Deno.test("PeerClaims holds at most its bound of paths, forgetting the least recently announced", () => {
  const claims = new PeerClaims(3);
  for (const path of ["a", "b", "c"]) {
    claims.take(availability(path, 1, [{ start: 0, count: 1 }]));
  }
  claims.take(availability("a", 1, [{ start: 0, count: 2 }])); // a is fresh again
  claims.take(availability("d", 1, [{ start: 0, count: 1 }]));
  assertEquals(claims.size, 3);
  assertEquals(
    ["a", "b", "c", "d"].map((p) => claims.claims(p, hash(1))),
    [true, false, true, true],
  );
});

Deno.test("PeerClaims holds at most its bound of ranges over all paths, dropping the oldest claims", () => {
  const claims = new PeerClaims(64, 10);
  const fragmented = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ start: i * 2, count: 1 }));
  claims.take(availability("a", 1, fragmented(4)));
  claims.take(availability("b", 1, fragmented(4)));
  claims.take(availability("c", 1, fragmented(4))); // 12 > 10: a goes
  assertEquals(
    ["a", "b", "c"].map((p) => claims.claims(p, hash(1))),
    [false, true, true],
  );
  // One claim over the whole bound keeps its first ranges only.
  claims.take(availability("d", 1, fragmented(30)));
  assertEquals(claims.size, 1);
  assertEquals(claims.holds("d", hash(1), 18), true);
  assertEquals(claims.holds("d", hash(1), 20), false);
  for (const i of [0, 2, 4, 6]) {
    assertEquals(claims.holds("d", hash(1), i), true, `index ${i}`);
    assertEquals(claims.holds("d", hash(1), i + 1), false, `index ${i + 1}`);
  }
});
