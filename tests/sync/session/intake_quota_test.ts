import { assert, assertEquals } from "../../assert.ts";
import {
  IndexIntake,
  IntakeBudget,
  IntakeQuota,
} from "../../../src/sync/session/intake_quota.ts";

Deno.test("IntakeQuota.spend() lets a minute's worth through, then asks to wait for the rate", () => {
  // [ms since start, units spent, wait expected] with 60 a minute (1/s).
  const steps: [number, number, number][] = [
    [0, 30, 0],
    [0, 30, 0], // the minute's worth is spent
    [0, 1, 1_000], // one in debt: a second at 1/s
    [1_000, 0, 0], // paid off
    [1_000, 10, 10_000],
    [6_000, 0, 5_000], // half paid off
    [11_000, 0, 0],
    [3_611_000, 60, 0], // an hour idle saves no more than a minute's worth
    [3_611_000, 1, 1_000],
    [3_612_000, 120, 120_000], // a large batch goes deep into debt
  ];
  let now = 0;
  const quota = new IntakeQuota(60, () => now);
  for (const [at, n, wait] of steps) {
    now = at;
    assertEquals(quota.spend(n), wait, `at ${at} ms, spending ${n}`);
  }
});

Deno.test("IntakeQuota refuses a quota of zero or less", () => {
  for (const bad of [0, -1, Number.NaN]) {
    let thrown: unknown;
    try {
      new IntakeQuota(bad);
    } catch (err) {
      thrown = err;
    }
    assert(thrown instanceof RangeError, `quota ${bad}`);
  }
});

Deno.test("IndexIntake lets small batches on at once, yields after large ones, and waits past either quota", () => {
  let now = 0;
  const intake = new IndexIntake({
    peer: () => "p",
    recordsPerMinute: 1_000,
    neverSeenPerMinute: 100,
    now: () => now,
  });
  assertEquals(intake.spend(10, 0), undefined);
  assertEquals(intake.spend(300, 0), 0); // others run first
  assertEquals(intake.spend(100, 100), undefined); // all 100 deletions spent
  assertEquals(intake.spend(20, 10), 6_000); // 10 deletions in debt at 100/min
  now = 6_000;
  assertEquals(intake.spend(670, 0), 0); // 570 left + 100 saved up since
  assertEquals(intake.spend(1, 0), 60); // records in debt now: 1 at 1,000/min
});

Deno.test("IndexIntake.close() ends a pause at once", async () => {
  const intake = new IndexIntake({ peer: () => "p" });
  const pause = intake.pause(60_000);
  intake.close();
  await pause;
});

Deno.test("IndexIntake counts the chunks records list: a few records at the chunk cap make a peer wait", () => {
  let now = 0;
  const intake = new IndexIntake({
    peer: () => "p",
    chunksPerMinute: 1_000_000,
    chunksBurst: 500_000,
    now: () => now,
  });
  assertEquals(intake.spend(1, 0, 100), undefined);
  assertEquals(intake.spend(1, 0, 458_752), 0); // a big list: others run first
  // One record more, 417,604 chunks in debt at 1,000,000 a minute.
  assertEquals(intake.spend(1, 0, 458_752), 25_057);
  now = 25_057;
  assertEquals(intake.spend(1, 0, 0), undefined);
  now = 600_000; // no more than the burst is saved up
  assertEquals(intake.spend(1, 0, 500_000), 0);
  assertEquals(intake.spend(1, 0, 1), 1);
});

Deno.test("IntakeQuota saves up no more than its burst", () => {
  let now = 0;
  const quota = new IntakeQuota(60_000, () => now, 1_000);
  assertEquals(quota.spend(1_000), 0);
  now = 60_000;
  assertEquals(quota.spend(1_001), 1);
});

Deno.test("IndexIntake of a peer's next connection spends the same budget: reconnecting resets nothing", () => {
  const now = 0;
  const budget = new IntakeBudget({
    peer: () => "p",
    neverSeenPerMinute: 100,
    now: () => now,
  });
  const first = new IndexIntake({ peer: () => "p", budget });
  assertEquals(first.spend(100, 100), undefined); // the whole minute's worth
  first.close();
  const second = new IndexIntake({ peer: () => "p again", budget });
  assertEquals(second.spend(10, 10), 6_000); // in debt from the start
  const fresh = new IndexIntake({
    peer: () => "q",
    neverSeenPerMinute: 100,
    now: () => now,
  });
  assertEquals(fresh.spend(10, 10), undefined); // another peer is not
});
