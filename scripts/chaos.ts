/**
 * `deno task chaos [--seed N] [--duration S] [--peers N]`: runs real dsync
 * peers under random operations and faults from one seed, then checks that
 * they agree and lost nothing. The seed is printed first so that any
 * failure can be replayed. Exit 0 on PASS, 1 on FAIL, 2 on bad flags,
 * 130 when interrupted.
 * @module
 */
import { parseArgs } from "node:util";
import { summarize } from "./chaos/report.ts";
import { PEER_NAMES, runChaos } from "./chaos/runner.ts";
import { DEFAULT_WEIGHTS } from "./chaos/generator.ts";

/** Options of the chaos CLI. */
export interface ChaosArgs {
  readonly seed: number;
  readonly durationS: number;
  readonly peers: number;
  readonly concurrentWeight: number;
  readonly quiesceTimeoutS: number;
}

function integer(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new RangeError(
      `Invalid --${name} "${value}": expected an integer from ${min} to ${max}`,
    );
  }
  return n;
}

/** Parses the flags; throws a one-line error for bad ones. */
export function parseChaosArgs(args: string[]): ChaosArgs {
  const { values, positionals } = parseArgs({
    args,
    options: {
      seed: { type: "string" },
      duration: { type: "string" },
      peers: { type: "string" },
      "concurrent-weight": { type: "string" },
      "quiesce-timeout": { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) {
    throw new RangeError(`Unexpected argument "${positionals[0]}"`);
  }
  return {
    seed: integer(
      "seed",
      values.seed,
      0,
      0xffffffff,
      Math.floor(Math.random() * 1_000_000),
    ),
    durationS: integer("duration", values.duration, 1, 3600, 60),
    peers: integer("peers", values.peers, 2, PEER_NAMES.length, 3),
    concurrentWeight: integer(
      "concurrent-weight",
      values["concurrent-weight"],
      0,
      1000,
      DEFAULT_WEIGHTS.concurrent,
    ),
    quiesceTimeoutS: integer(
      "quiesce-timeout",
      values["quiesce-timeout"],
      5,
      3600,
      120,
    ),
  };
}

async function main(): Promise<number> {
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(Deno.args);
  } catch (err) {
    console.error(`chaos: ${(err as Error).message}`);
    return 2;
  }
  console.log(
    `chaos: seed ${args.seed}, ${args.peers} peers, ${args.durationS} s`,
  );
  const abort = new AbortController();
  const onInterrupt = () => {
    console.log("chaos: interrupted; undoing faults and cleaning up");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onInterrupt);
  try {
    const result = await runChaos({
      seed: args.seed,
      durationMs: args.durationS * 1000,
      peers: args.peers,
      concurrentWeight: args.concurrentWeight,
      quiesceTimeoutMs: args.quiesceTimeoutS * 1000,
      stableMs: 3_000,
      log: (line) => console.log(line),
      signal: abort.signal,
    });
    for (const line of summarize(args.seed, result)) console.log(line);
    if (result.aborted) return 130;
    return result.passed ? 0 : 1;
  } catch (err) {
    if (abort.signal.aborted) {
      console.log(`chaos: interrupted (seed ${args.seed}); cleaned up`);
      return 130;
    }
    console.error(`chaos: FAIL (seed ${args.seed}): ${(err as Error).stack}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onInterrupt);
  }
}

if (import.meta.main) Deno.exit(await main());
