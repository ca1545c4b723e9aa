/**
 * The guard that the chaos suite keeps working: a short run with a fixed
 * seed (real dsync peers, operations, faults, quiescence, checks) must
 * pass. Its output is shown on failure, with the seed to replay it by
 * `deno task chaos --seed N --duration 15`.
 * @module
 */
import { assert } from "../assert.ts";
import { runChaos } from "../../scripts/chaos/runner.ts";
import { summarize } from "../../scripts/chaos/report.ts";

const SEED = 2;

Deno.test({
  name: "chaos run of 15 s with a fixed seed passes",
  // Peers are killed and restarted: their child processes end in the run.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const lines: string[] = [];
    const result = await runChaos({
      seed: SEED,
      durationMs: 15_000,
      peers: 3,
      concurrentWeight: 8,
      quiesceTimeoutMs: 90_000,
      stableMs: 3_000,
      log: (line) => lines.push(line),
    });
    lines.push(...summarize(SEED, result));
    assert(result.entries.length > 20, lines.join("\n"));
    assert(result.passed, lines.join("\n"));
  },
});
