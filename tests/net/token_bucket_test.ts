import { RateLimiter, TokenBucket } from "../../src/net/token_bucket.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

function clock(start = 1_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

Deno.test("TokenBucket.tryTake() follows capacity and refill (table)", () => {
  // Each step: advance the clock by `advanceMs`, then try to take `take`.
  const cases: {
    name: string;
    capacity: number;
    refillPerSecond: number;
    steps: { advanceMs: number; take: number; ok: boolean }[];
  }[] = [
    {
      name: "burst up to capacity then refuse",
      capacity: 3,
      refillPerSecond: 1,
      steps: [
        { advanceMs: 0, take: 1, ok: true },
        { advanceMs: 0, take: 1, ok: true },
        { advanceMs: 0, take: 1, ok: true },
        { advanceMs: 0, take: 1, ok: false },
      ],
    },
    {
      name: "refills at the configured rate",
      capacity: 2,
      refillPerSecond: 2,
      steps: [
        { advanceMs: 0, take: 2, ok: true },
        { advanceMs: 400, take: 1, ok: false },
        { advanceMs: 100, take: 1, ok: true },
        { advanceMs: 0, take: 1, ok: false },
      ],
    },
    {
      name: "never exceeds capacity after a long idle",
      capacity: 2,
      refillPerSecond: 10,
      steps: [
        { advanceMs: 3_600_000, take: 2, ok: true },
        { advanceMs: 0, take: 1, ok: false },
      ],
    },
    {
      name: "zero refill never recovers",
      capacity: 1,
      refillPerSecond: 0,
      steps: [
        { advanceMs: 0, take: 1, ok: true },
        { advanceMs: 1e9, take: 1, ok: false },
      ],
    },
    {
      name: "clock going backwards adds nothing",
      capacity: 1,
      refillPerSecond: 1,
      steps: [
        { advanceMs: 0, take: 1, ok: true },
        { advanceMs: -5_000, take: 1, ok: false },
        { advanceMs: 1_000, take: 1, ok: true },
      ],
    },
    {
      name: "taking more than capacity is refused",
      capacity: 2,
      refillPerSecond: 1,
      steps: [{ advanceMs: 0, take: 3, ok: false }],
    },
  ];
  for (const c of cases) {
    const time = clock();
    const bucket = new TokenBucket({
      capacity: c.capacity,
      refillPerSecond: c.refillPerSecond,
      now: time.now,
    });
    c.steps.forEach((step, i) => {
      time.t += step.advanceMs;
      assertEquals(bucket.tryTake(step.take), step.ok, `${c.name}, step ${i}`);
    });
  }
});

Deno.test("TokenBucket rejects invalid options", () => {
  assertThrows(
    () => new TokenBucket({ capacity: 0, refillPerSecond: 1 }),
    RangeError,
  );
  assertThrows(
    () => new TokenBucket({ capacity: 1, refillPerSecond: -1 }),
    RangeError,
  );
  assertThrows(
    () => new TokenBucket({ capacity: Infinity, refillPerSecond: 1 }),
    RangeError,
  );
  assertThrows(
    () => new RateLimiter({ capacity: 1, refillPerSecond: 1, maxKeys: 0 }),
    RangeError,
  );
});

Deno.test("RateLimiter.allow() keeps a separate bucket per key", () => {
  const time = clock();
  const limiter = new RateLimiter({
    capacity: 2,
    refillPerSecond: 1,
    maxKeys: 10,
    now: time.now,
  });
  assertEquals(
    ["a", "a", "a", "b", "b", "b"].map((k) => limiter.allow(k)),
    [true, true, false, true, true, false],
  );
  time.t += 1_000;
  assertEquals([limiter.allow("a"), limiter.allow("a")], [true, false]);
});

Deno.test("RateLimiter stays bounded under a flood of distinct keys", () => {
  const time = clock();
  const limiter = new RateLimiter({
    capacity: 5,
    refillPerSecond: 1,
    maxKeys: 64,
    now: time.now,
  });
  for (let i = 0; i < 100_000; i++) {
    limiter.allow(`10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}`);
    assert(limiter.size <= 64, `size ${limiter.size} after ${i} keys`);
  }
});

Deno.test("RateLimiter evicts full buckets before drained ones", () => {
  const time = clock();
  const limiter = new RateLimiter({
    capacity: 2,
    refillPerSecond: 1,
    maxKeys: 4,
    now: time.now,
  });
  // "attacker" is drained; it is the oldest key.
  assertEquals([limiter.allow("attacker"), limiter.allow("attacker")], [
    true,
    true,
  ]);
  time.t += 100;
  limiter.allow("x1");
  limiter.allow("x2");
  limiter.allow("x3");
  // x1..x3 hold 1 token each and are full again after a second; "attacker"
  // then holds 1.1 tokens.
  time.t += 1_000;
  limiter.allow("new"); // map full: full buckets go first
  assertEquals(
    [limiter.allow("attacker"), limiter.allow("attacker")],
    [true, false],
    "drained bucket was kept",
  );
});

Deno.test("RateLimiter evicts least recently used when nothing is full", () => {
  const time = clock();
  const limiter = new RateLimiter({
    capacity: 1,
    refillPerSecond: 0,
    maxKeys: 2,
    now: time.now,
  });
  limiter.allow("old");
  limiter.allow("recent");
  limiter.allow("recent"); // touch
  limiter.allow("third"); // evicts "old", the least recently used
  assertEquals(
    limiter.allow("recent"),
    false,
    "recent kept its drained bucket",
  );
  assert(limiter.size <= 2);
});
