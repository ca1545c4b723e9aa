import {
  assert,
  assertEquals,
  assertMatch,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { gf32Mul } from "../../src/group/join_code.ts";
import {
  generateJoinCode,
  JOIN_CODE_ALPHABET,
  JOIN_CODE_LIFETIME_MS,
  JoinCode,
  JoinCodeBook,
  JoinCodeError,
  type JoinCodeErrorKind,
  parseJoinCode,
} from "../../src/group/mod.ts";
import { SeededRandom } from "../crypto/_random.ts";

const seeded = (seed: number) => {
  const rng = new SeededRandom(seed);
  return (n: number) => rng.bytes(n);
};

Deno.test("generateJoinCode() gives 3 groups of 4 Crockford symbols that parse back", () => {
  const random = seeded(1);
  for (let i = 0; i < 200; i++) {
    const code = generateJoinCode(random);
    assertMatch(
      code.toString(),
      /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}$/,
    );
    assert(parseJoinCode(code.toString()).equals(code));
  }
});

Deno.test("generateJoinCode() is determined by its randomness and uses 55 bits", () => {
  const a = generateJoinCode(() => new Uint8Array(7).fill(0x5a));
  const b = generateJoinCode(() => new Uint8Array(7).fill(0x5a));
  assertStrictEquals(a.toString(), b.toString());
  // The top bit of the 56 drawn is unused.
  const c = generateJoinCode(() => Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0));
  assertStrictEquals(c.toString(), "0000-0000-0000");
  assertStrictEquals(
    generateJoinCode(() => new Uint8Array(7).fill(0xff)).canonical.slice(0, 11),
    "ZZZZZZZZZZZ",
  );
  assertThrows(() => generateJoinCode(() => new Uint8Array(6)), RangeError);
});

Deno.test("parseJoinCode() normalises case, spaces, dashes and O/0 I/1 L/1", () => {
  const code = generateJoinCode(seeded(2));
  const canonical = code.canonical;
  const confuse = canonical.replaceAll("0", "o").replaceAll("1", "l");
  const variants = [
    canonical,
    canonical.toLowerCase(),
    ` ${canonical.slice(0, 4)} ${canonical.slice(4, 8)}  ${
      canonical.slice(8)
    } `,
    `${canonical.slice(0, 6)}-${canonical.slice(6)}`,
    `${canonical.slice(0, 4)}–${canonical.slice(4, 8)}—${canonical.slice(8)}`,
    confuse,
    canonical.replaceAll("1", "I").replaceAll("0", "O"),
  ];
  for (const text of variants) {
    assertStrictEquals(parseJoinCode(text).toString(), code.toString(), text);
  }
  const withOnes = JoinCode.fromDataValues([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  assert(
    parseJoinCode(withOnes.canonical.replaceAll("1", "i")).equals(withOnes),
  );
  assert(
    parseJoinCode(withOnes.canonical.replaceAll("1", "L")).equals(withOnes),
  );
});

Deno.test("parseJoinCode() rejects bad input with a JoinCodeError that says what is wrong", () => {
  const good = generateJoinCode(seeded(3)).canonical;
  const cases: Array<[string, JoinCodeErrorKind, RegExp]> = [
    ["", "empty", /empty/],
    [" - - ", "empty", /empty/],
    [good.slice(0, 11), "length", /11 symbols, expected 12/],
    [good + "0", "length", /13 symbols, expected 12/],
    [good.slice(0, 5) + "U" + good.slice(6), "symbol", /"U" at position 6/],
    [good.slice(0, 2) + "*" + good.slice(3), "symbol", /"\*" at position 3/],
    [good.slice(0, 2) + "\n" + good.slice(3), "length", /11 symbols/],
    [good.slice(0, 2) + "\u0007" + good.slice(3), "symbol", /\\u0007/],
    [good.slice(0, 2) + "é" + good.slice(3), "symbol", /"é"/],
  ];
  for (const [text, kind, message] of cases) {
    const where = JSON.stringify(text);
    const error = assertThrows(
      () => parseJoinCode(text),
      JoinCodeError,
      undefined,
      where,
    );
    assertStrictEquals(error.kind, kind, where);
    assertMatch(error.message, message, where);
  }
});

Deno.test("parseJoinCode() catches every single substitution and every swap", () => {
  const random = seeded(4);
  for (let n = 0; n < 20; n++) {
    const good = generateJoinCode(random).canonical;
    for (let i = 0; i < 12; i++) {
      for (const symbol of JOIN_CODE_ALPHABET) {
        if (symbol === good[i]) continue;
        const typo = good.slice(0, i) + symbol + good.slice(i + 1);
        assertStrictEquals(
          assertThrows(
            () => parseJoinCode(typo),
            JoinCodeError,
            undefined,
            typo,
          )
            .kind,
          "check",
          typo,
        );
      }
      for (let j = i + 1; j < 12; j++) {
        if (good[i] === good[j]) continue;
        const chars = [...good];
        [chars[i], chars[j]] = [chars[j]!, chars[i]!];
        assertStrictEquals(
          assertThrows(() => parseJoinCode(chars.join("")), JoinCodeError)
            .kind,
          "check",
        );
      }
    }
  }
});

Deno.test("gf32Mul() is a field multiplication with 2 of order 31", () => {
  let power = 1;
  const seen = new Set<number>();
  for (let i = 0; i < 31; i++) {
    seen.add(power);
    power = gf32Mul(power, 2);
  }
  assertStrictEquals(power, 1);
  assertStrictEquals(seen.size, 31);
  for (let a = 1; a < 32; a++) {
    let inverses = 0;
    for (let b = 1; b < 32; b++) if (gf32Mul(a, b) === 1) inverses++;
    assertStrictEquals(inverses, 1, `inverse of ${a}`);
  }
});

Deno.test("JoinCode keeps itself out of logs", () => {
  const code = generateJoinCode(seeded(5));
  assert(!Deno.inspect(code).includes(code.canonical));
  assert(!JSON.stringify({ code }).includes(code.canonical));
  assertEquals(code.password, new TextEncoder().encode(code.canonical));
});

// ---------------------------------------------------------------------------
// JoinCodeBook: table of (steps → expected state)

type Step =
  | { at: number; do: "issue" }
  | { at: number; do: "begin"; expect: "ok" | JoinCodeErrorKind }
  | { at: number; do: "fail" | "succeed" }
  | {
    at: number;
    do: "status";
    state: string;
    attemptsLeft: number;
    failures?: number;
  };

const MIN = 60_000;
const BOOK_CASES: Array<{ name: string; steps: Step[] }> = [
  {
    name: "nothing issued",
    steps: [
      { at: 0, do: "status", state: "none", attemptsLeft: 0 },
      { at: 0, do: "begin", expect: "none" },
    ],
  },
  {
    name: "fresh code is active with 3 attempts",
    steps: [
      { at: 0, do: "issue" },
      { at: 0, do: "status", state: "active", attemptsLeft: 3 },
      { at: 0, do: "begin", expect: "ok" },
      { at: 0, do: "status", state: "active", attemptsLeft: 2 },
    ],
  },
  {
    name: "three failures spend the code",
    steps: [
      { at: 0, do: "issue" },
      { at: 1, do: "begin", expect: "ok" },
      { at: 2, do: "fail" },
      { at: 3, do: "begin", expect: "ok" },
      { at: 4, do: "fail" },
      { at: 5, do: "begin", expect: "ok" },
      { at: 6, do: "fail" },
      { at: 7, do: "status", state: "spent", attemptsLeft: 0, failures: 3 },
      { at: 8, do: "begin", expect: "spent" },
    ],
  },
  {
    name:
      "attempts count when they start, so parallel sessions cannot exceed 3",
    steps: [
      { at: 0, do: "issue" },
      { at: 1, do: "begin", expect: "ok" },
      { at: 1, do: "begin", expect: "ok" },
      { at: 1, do: "begin", expect: "ok" },
      { at: 1, do: "begin", expect: "spent" },
    ],
  },
  {
    name: "two failures then a success uses the code",
    steps: [
      { at: 0, do: "issue" },
      { at: 1, do: "begin", expect: "ok" },
      { at: 1, do: "fail" },
      { at: 2, do: "begin", expect: "ok" },
      { at: 2, do: "fail" },
      { at: 3, do: "begin", expect: "ok" },
      { at: 3, do: "succeed" },
      { at: 4, do: "status", state: "used", attemptsLeft: 0, failures: 2 },
      { at: 4, do: "begin", expect: "used" },
    ],
  },
  {
    name: "expires exactly 10 minutes after issue",
    steps: [
      { at: 1000, do: "issue" },
      {
        at: 1000 + 10 * MIN - 1,
        do: "status",
        state: "active",
        attemptsLeft: 3,
      },
      { at: 1000 + 10 * MIN, do: "status", state: "expired", attemptsLeft: 0 },
      { at: 1000 + 10 * MIN, do: "begin", expect: "expired" },
    ],
  },
  {
    name: "a new issue replaces a spent code",
    steps: [
      { at: 0, do: "issue" },
      { at: 0, do: "begin", expect: "ok" },
      { at: 0, do: "begin", expect: "ok" },
      { at: 0, do: "begin", expect: "ok" },
      { at: 1, do: "begin", expect: "spent" },
      { at: 2, do: "issue" },
      { at: 2, do: "status", state: "active", attemptsLeft: 3, failures: 0 },
      { at: 3, do: "begin", expect: "ok" },
    ],
  },
];

for (const { name, steps } of BOOK_CASES) {
  Deno.test(`JoinCodeBook: ${name}`, () => {
    let now = 0;
    const book = new JoinCodeBook({ now: () => now, random: seeded(6) });
    let last: ReturnType<JoinCodeBook["beginAttempt"]> | undefined;
    for (const [index, step] of steps.entries()) {
      now = step.at;
      const where = `step ${index + 1} (${step.do})`;
      switch (step.do) {
        case "issue": {
          const { expiresAt } = book.issue();
          assertStrictEquals(expiresAt, now + JOIN_CODE_LIFETIME_MS, where);
          break;
        }
        case "begin":
          if (step.expect === "ok") {
            last = book.beginAttempt();
          } else {
            const kind = step.expect;
            assertStrictEquals(
              assertThrows(
                () => book.beginAttempt(),
                JoinCodeError,
                undefined,
                where,
              ).kind,
              kind,
              where,
            );
          }
          break;
        case "fail":
          last!.fail();
          break;
        case "succeed":
          last!.succeed();
          break;
        case "status": {
          const status = book.status();
          assertStrictEquals(status.state, step.state, where);
          assertStrictEquals(status.attemptsLeft, step.attemptsLeft, where);
          if (step.failures !== undefined) {
            assertStrictEquals(status.failures, step.failures, where);
          }
          break;
        }
      }
    }
  });
}

Deno.test("JoinCodeBook hands out the issued code and counts a report once", () => {
  let now = 0;
  const book = new JoinCodeBook({ now: () => now, random: seeded(7) });
  const { code } = book.issue();
  const attempt = book.beginAttempt();
  assert(attempt.code.equals(code));
  attempt.fail();
  attempt.fail();
  attempt.succeed();
  assertStrictEquals(book.status().failures, 1);
  assertStrictEquals(book.status().state, "active");
  now = 5;
  book.revoke();
  assertStrictEquals(book.status().state, "none");
});

Deno.test("JoinCodeBook validates its options and clock", () => {
  assertThrows(
    () => new JoinCodeBook({ now: () => 0, lifetimeMs: 0 }),
    RangeError,
  );
  assertThrows(
    () => new JoinCodeBook({ now: () => 0, maxAttempts: 0 }),
    RangeError,
  );
  assertThrows(
    () => new JoinCodeBook({ now: undefined as unknown as () => number }),
    TypeError,
  );
  const book = new JoinCodeBook({ now: () => NaN });
  assertThrows(() => book.issue(), RangeError);
});
