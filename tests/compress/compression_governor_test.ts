import { assert, assertEquals } from "../assert.ts";
import {
  CompressionGovernor,
  type GovernorPhase,
  governorStep,
} from "../../src/compress/compression_governor.ts";

const MiB = 1 << 20;

/**
 * A governor on a fake clock, fed 64 KiB answers at `rate(compressing)`
 * MB/s (bytes per ms / 1000) for `totalMs`; returns the modes in force,
 * one entry per change, with the time of the change.
 */
function run(
  rate: (compressing: boolean, t: number) => number,
  totalMs: number,
  gaps: [at: number, ms: number][] = [],
  disturbed: (t: number) => boolean = () => false,
): [t: number, compressing: boolean][] {
  let t = 0;
  const gov = new CompressionGovernor({
    now: () => t,
    windowMs: 500,
    windowBytes: 8 * MiB,
    settleBytes: 4 * MiB,
    holdMs: 10_000,
    maxGapMs: 200,
    margin: 1.05,
  });
  const changes: [number, boolean][] = [[0, gov.compressing]];
  const chunk = 64 * 1024;
  while (t < totalMs) {
    const gap = gaps.find(([at]) => at <= t && t < at + 1);
    if (gap !== undefined) t += gap[1];
    const mode = gov.compressing;
    t += chunk / (rate(mode, t) * 1000);
    gov.answered(chunk, disturbed(t));
    if (gov.compressing !== changes.at(-1)![1]) {
      changes.push([Math.round(t), gov.compressing]);
    }
  }
  return changes;
}

Deno.test("CompressionGovernor keeps compressing where it is faster (a slow link)", () => {
  // 10 MB/s raw without, 27 MB/s with: off only while measuring.
  const changes = run((on) => on ? 27 : 10, 30_000);
  assertEquals(changes[0], [0, true]);
  const offs = changes.filter(([, on]) => !on);
  assert(offs.length >= 2, "measures again after holding");
  for (let i = 1; i < changes.length; i += 2) {
    const [from] = changes[i]!;
    const [to] = changes[i + 1] ?? [30_000];
    assert(to - from < 1500, `off for ${to - from} ms at ${from}`);
  }
  assertEquals(changes.at(-1)![1], true);
});

Deno.test("CompressionGovernor stops compressing where it is slower (a fast link)", () => {
  const changes = run((on) => on ? 110 : 160, 9_000);
  // On, off and on again while measuring, off from then on (the hold lasts
  // past the end of this run).
  assertEquals(changes.map(([, on]) => on), [true, false, true, false]);
  assert(changes[3]![0] < 2000, `turned off at ${changes[3]![0]} ms`);
});

Deno.test("CompressionGovernor is not misled by a transfer that speeds up while it measures", () => {
  // A 1 Gbit/s link (119 MB/s raw without compression) and a sender still
  // hashing its files for the first 1.2 s: 66 MB/s with compression then,
  // 250 MB/s after. The first window with compression is the slow one;
  // compression must still win.
  const changes = run(
    (on, t) => on ? (t < 1_200 ? 66 : 250) : 119,
    9_000,
  );
  assertEquals(changes.at(-1)![1], true);
  const offFor = changes.slice(1).reduce(
    (sum, [t, on], i, all) => on ? sum : sum + ((all[i + 1]?.[0] ?? 9_000) - t),
    0,
  );
  assert(offFor < 1500, `off for ${offFor} ms`);
});

Deno.test("CompressionGovernor measures again after holding, and follows a change of link", () => {
  // Fast for 12 s (compression off), then slow: compression comes back
  // at the next measurement.
  const changes = run(
    (on, t) => t < 12_000 ? (on ? 110 : 160) : (on ? 27 : 10),
    30_000,
  );
  assertEquals(changes[1]![1], false);
  const last = changes.at(-1)!;
  assertEquals(last[1], true);
  assert(last[0] > 10_000, `back on at ${last[0]}`);
});

Deno.test("CompressionGovernor does not measure while this device indexes its files", () => {
  // The index pass takes the cores for 3 s: 20 MB/s with compression then
  // against 119 without (a 1 Gbit/s link), 250 with it after. Nothing is
  // decided until the pass ends, and then compression wins.
  const changes = run(
    (on, t) => on ? (t < 3_000 ? 20 : 250) : 119,
    9_000,
    [],
    (t) => t < 3_000,
  );
  assertEquals(changes[1]?.[1], false);
  assert(changes[1]![0] > 3_000, `measured from ${changes[1]![0]} ms`);
  assertEquals(changes.map(([, on]) => on), [true, false, true]);
});

Deno.test("CompressionGovernor compresses while an index pass interrupts a round", () => {
  // A fast link (off wins) and an index pass from 0.9 s to 5 s, which
  // starts while the window without compression measures: compression is
  // back on for the whole pass, and goes off only once a round completes.
  const changes = run(
    (on) => on ? 110 : 160,
    9_000,
    [],
    (t) => t >= 900 && t < 5_000,
  );
  const at = (t: number) => changes.findLast(([from]) => from <= t)![1];
  assertEquals(at(800), false, "measuring without before the pass");
  for (const t of [1_000, 2_000, 4_900]) assertEquals(at(t), true, `at ${t}`);
  assertEquals(changes.at(-1)![1], false);
  assert(changes.at(-1)![0] > 5_000, `off at ${changes.at(-1)![0]}`);
});

Deno.test("CompressionGovernor keeps compressing within its margin", () => {
  const changes = run((on) => on ? 100 : 104, 9_000);
  // Off only for the window without.
  assertEquals(changes.map(([, on]) => on), [true, false, true]);
});

Deno.test("CompressionGovernor does not count pauses as slowness", () => {
  // Without compression answers are faster, but the peer pauses for a
  // second in the middle of that window: the window starts over instead
  // of measuring a low rate.
  const changes = run((on) => on ? 110 : 160, 9_000, [[700, 1000]]);
  assertEquals(changes.at(-1)![1], false);
});

Deno.test("governorStep() follows its decision table", () => {
  // [phase, rate of the window just ended, earlier windows of the round
  //  (with, without), next phase, compressing next]; MB/s, margin 1.05.
  const table: [
    GovernorPhase,
    number,
    [on: number, off: number],
    GovernorPhase,
    boolean,
  ][] = [
    // A window with compression ended: measure without.
    ["measure-on", 40, [0, 0], "measure-off", false],
    // Then with compression again, whatever was measured.
    ["measure-off", 160, [40, 0], "recheck-on", true],
    ["measure-off", 12, [27, 0], "recheck-on", true],
    // Link-bound (100 Mbit/s: 12 MB/s raw as is, 27 compressed): on.
    ["recheck-on", 27, [27, 12], "hold", true],
    // 1 Gbit/s with a compressor that keeps up: 117 as is, 180 with: on.
    ["recheck-on", 180, [180, 117], "hold", true],
    // CPU-bound (the compressor is the slowest step): off.
    ["recheck-on", 110, [110, 160], "hold", false],
    // Within the margin of the mean: compression is kept (it saves the
    // link's bytes); past it, off.
    ["recheck-on", 100, [100, 104], "hold", true],
    ["recheck-on", 100, [100, 105.1], "hold", false],
    // Faster for other reasons between the windows (the sender's hashing
    // ended): 66 with, 90 without, 250 with: the mean 158 wins.
    ["recheck-on", 250, [66, 90], "hold", true],
    // And slower for other reasons: 200 with, 150 without, 60 with: the
    // mean 130 loses.
    ["recheck-on", 60, [200, 150], "hold", false],
    // Random data: compression tried and given up per file, so the rates
    // match: kept on, and it costs little.
    ["recheck-on", 150, [150, 150], "hold", true],
    // A hold ends: measure again, starting with compression.
    ["hold", 160, [110, 160], "measure-on", true],
  ];
  for (const [phase, rate, [on, off], next, compressing] of table) {
    assertEquals(
      governorStep(phase, rate, { on, off }, 1.05),
      { phase: next, compressing },
      `${phase} at ${rate} after ${on} / ${off}`,
    );
  }
});
