import {
  chooseConnection,
  compareBytes,
  type Initiator,
} from "../../src/net/tie_break.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

const LOW = new Uint8Array([1, 2, 3]);
const HIGH = new Uint8Array([1, 2, 4]);

Deno.test("compareBytes() orders bytewise, shorter prefix first", () => {
  assert(compareBytes(LOW, HIGH) < 0);
  assert(compareBytes(HIGH, LOW) > 0);
  assertEquals(compareBytes(LOW, new Uint8Array([1, 2, 3])), 0);
  assert(compareBytes(new Uint8Array([1, 2]), LOW) < 0);
  assert(compareBytes(new Uint8Array([255]), new Uint8Array([0, 255])) > 0);
});

Deno.test("chooseConnection() keeps the lower key's dial (table)", () => {
  const cases: [
    local: Uint8Array,
    remote: Uint8Array,
    existing: Initiator,
    candidate: Initiator,
    want: "existing" | "candidate",
  ][] = [
    // We are lower: keep the connection we dialed.
    [LOW, HIGH, "local", "remote", "existing"],
    [LOW, HIGH, "remote", "local", "candidate"],
    // We are higher: keep the connection the peer dialed.
    [HIGH, LOW, "local", "remote", "candidate"],
    [HIGH, LOW, "remote", "local", "existing"],
    // Same dialer twice: the newer one replaces the older.
    [LOW, HIGH, "local", "local", "candidate"],
    [LOW, HIGH, "remote", "remote", "candidate"],
    [HIGH, LOW, "local", "local", "candidate"],
    [HIGH, LOW, "remote", "remote", "candidate"],
  ];
  for (const [local, remote, existing, candidate, want] of cases) {
    assertEquals(
      chooseConnection(local, remote, existing, candidate),
      want,
      `${local} vs ${remote}, existing ${existing}, candidate ${candidate}`,
    );
  }
});

Deno.test("chooseConnection() agrees on both ends of a simultaneous dial", () => {
  for (const [a, b] of [[LOW, HIGH], [HIGH, LOW]] as const) {
    // Connection X dialed by a, Y dialed by b. Each side sees one as "existing".
    for (const aFirst of [true, false]) {
      const atA = aFirst
        ? chooseConnection(a, b, "local", "remote")
        : chooseConnection(a, b, "remote", "local");
      const keptAtA = (atA === "existing") === aFirst ? "X" : "Y";
      for (const bFirst of [true, false]) {
        const atB = bFirst
          ? chooseConnection(b, a, "local", "remote")
          : chooseConnection(b, a, "remote", "local");
        const keptAtB = (atB === "existing") === bFirst ? "Y" : "X";
        assertEquals(keptAtA, keptAtB);
      }
    }
  }
});

Deno.test("chooseConnection() refuses a connection to ourselves", () => {
  assertThrows(() => chooseConnection(LOW, LOW, "local", "remote"), RangeError);
});
