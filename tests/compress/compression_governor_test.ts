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
    gov.answered(chunk);
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
  // On while the first window measures, off from then on (the hold lasts
  // past the end of this run).
  assertEquals(changes.map(([, on]) => on), [true, false]);
  assert(changes[1]![0] < 1000, `turned off at ${changes[1]![0]} ms`);
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

Deno.test("CompressionGovernor keeps compressing within its margin", () => {
  const changes = run((on) => on ? 100 : 104, 9_000);
  // Off only for the measuring window.
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
  // [phase, rate of the window just ended, rate measured with compression,
  //  next phase, compressing next]; rates in MB/s, margin 1.05.
  const table: [GovernorPhase, number, number, GovernorPhase, boolean][] = [
    // A window with compression ended: measure without.
    ["measure-on", 40, 0, "measure-off", false],
    // Link-bound (100 Mbit/s: 12 MB/s raw as is, 27 compressed): back on.
    ["measure-off", 12, 27, "hold", true],
    // 1 Gbit/s with a compressor that keeps up: 117 as is, 180 with: on.
    ["measure-off", 117, 180, "hold", true],
    // CPU-bound (loopback: the compressor is the slowest step): off.
    ["measure-off", 160, 110, "hold", false],
    // Within the margin: compression is kept (it saves the link's bytes).
    ["measure-off", 104, 100, "hold", true],
    ["measure-off", 105.1, 100, "hold", false],
    // Random data: compression tried and given up per file, so both rates
    // match: kept on, and it costs little.
    ["measure-off", 150, 150, "hold", true],
    // A hold ends: measure again, starting with compression.
    ["hold", 160, 110, "measure-on", true],
  ];
  for (const [phase, rate, rateOn, next, on] of table) {
    assertEquals(
      governorStep(phase, rate, rateOn, 1.05),
      { phase: next, compressing: on },
      `${phase} at ${rate} after ${rateOn}`,
    );
  }
});
