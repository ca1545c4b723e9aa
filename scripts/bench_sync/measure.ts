/**
 * One measurement of one tool: a full transfer of a dataset (time until the
 * destination is byte-identical, peak memory of each side), or the latency
 * from saving a small file on one side until it is complete on the other.
 * Every process is stopped and every folder it made removed, also on failure.
 * @module
 */
import { waitForIdentical, type WaitOutcome } from "./completion.ts";
import { buildManifest, type Manifest } from "./manifest.ts";
import { Prng } from "./prng.ts";
import { type CpuTime, PeakMemory } from "./proc.ts";
import type { Endpoint, SyncRun, SyncTool } from "./sync_tool.ts";

/** Peak bytes of each side (null: no process was seen). */
export interface SidePeaks {
  src: number | null;
  dst: number | null;
  /** CPU seconds (user + system) of each side until the end of the run. */
  srcCpu?: CpuTime | null;
  dstCpu?: CpuTime | null;
}

/** How a transfer went: a wait outcome, or why it never started. */
export type TransferOutcome =
  | WaitOutcome
  | { kind: "unavailable"; reason: string }
  | { kind: "error"; message: string };

/** Result of {@linkcode measureTransfer}. */
export interface TransferResult {
  outcome: TransferOutcome;
  /** Seconds from spawn to identical, when done. */
  seconds: number | null;
  peaks: SidePeaks;
  /** When it did not finish: the last line each process wrote. */
  lastLines?: string[];
  /** Bytes on the wire while the clock ran, when the link can count them. */
  wireBytes?: number;
}

/** Limits shared by the measurements, and where the two sides run. */
export interface MeasureOptions {
  timeoutMs: number;
  stallMs: number;
  signal?: AbortSignal;
  /** Source and destination (default: both on loopback). */
  sides?: readonly [Endpoint, Endpoint];
  /** Bytes the link has carried so far (a counter read at start and end). */
  wireBytes?: () => Promise<number>;
}

const SAMPLE_MS = 250;
/** What a tool may leave at the top of a folder it synced. */
const TOOL_LEFTOVERS = [
  ".dsync",
  ".dsyncignore",
  ".stfolder",
  ".stversions",
  ".stignore",
];

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Removes what a tool left in the (shared) source folder. */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of TOOL_LEFTOVERS) {
    await Deno.remove(`${dir}/${name}`, { recursive: true }).catch(() => {});
  }
}

/**
 * Prepares a run in fresh folders under `scratch`, gives it to `body` with
 * memory sampling on, and cleans everything up afterwards.
 */
async function withRun<T>(
  tool: SyncTool,
  src: string,
  scratch: string,
  sides: readonly [Endpoint, Endpoint] | undefined,
  body: (run: SyncRun, dst: string, memory: PeakMemory) => Promise<T>,
): Promise<{ value: T; peaks: SidePeaks }> {
  const dst = await Deno.makeTempDir({
    dir: scratch,
    prefix: `${tool.name}-dst-`,
  });
  const work = await Deno.makeTempDir({
    dir: scratch,
    prefix: `${tool.name}-work-`,
  });
  const memory = new PeakMemory();
  let run: SyncRun | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    run = await tool.prepare(src, dst, work, sides);
    const sample = () => memory.sample(run!.pids());
    timer = setInterval(sample, SAMPLE_MS);
    const value = await body(run, dst, memory);
    sample();
    return {
      value,
      peaks: {
        src: memory.peak("src"),
        dst: memory.peak("dst"),
        srcCpu: memory.cpuSeconds("src"),
        dstCpu: memory.cpuSeconds("dst"),
      },
    };
  } finally {
    clearInterval(timer);
    await run?.close();
    await Deno.remove(dst, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await removeLeftovers(src);
  }
}

/** The result of a timed wait that started at `t0`. */
function finish(
  value: {
    outcome: WaitOutcome;
    t0: number;
    lastLines: string[];
    wire: number | undefined;
  },
  peaks: SidePeaks,
): TransferResult {
  const seconds = value.outcome.kind === "done"
    ? (value.outcome.at - value.t0) / 1000
    : null;
  const result: TransferResult = seconds === null
    ? { outcome: value.outcome, seconds, peaks, lastLines: value.lastLines }
    : { outcome: value.outcome, seconds, peaks };
  if (value.wire !== undefined) result.wireBytes = value.wire;
  return result;
}

/**
 * A small change in a synced file: `src` is synced to an empty folder
 * (untimed), the tool is stopped (continuous tools) and `change` edits
 * `src` so that it matches `expected`; the clock runs from starting the
 * tool again (one-shot tools: running it again) until the destination is
 * identical. Both sides keep what they stored, as after a restart.
 */
export async function measureChange(
  tool: SyncTool,
  src: string,
  change: () => Promise<void>,
  expected: Manifest,
  scratch: string,
  options: MeasureOptions,
): Promise<TransferResult> {
  const reason = await tool.unavailable();
  if (reason !== null) {
    return {
      outcome: { kind: "unavailable", reason },
      seconds: null,
      peaks: { src: null, dst: null },
    };
  }
  try {
    const before = await buildManifest(src);
    const { value, peaks } = await withRun(
      tool,
      src,
      scratch,
      options.sides,
      async (run, dst) => {
        const wait = (t0: number) =>
          waitForIdentical(dst, before, {
            deadline: t0 + options.timeoutMs,
            stallMs: options.stallMs,
            failure: () => run.failure(),
            ...(options.signal ? { signal: options.signal } : {}),
          });
        const first = performance.now();
        await run.start();
        const warm = await wait(first);
        if (warm.kind !== "done") {
          return {
            outcome: warm,
            t0: first,
            lastLines: run.lastLines(),
            wire: undefined,
          };
        }
        if (tool.continuous) await run.close();
        await change();
        const wire0 = await options.wireBytes?.();
        const t0 = performance.now();
        await run.start();
        const outcome = await waitForIdentical(dst, expected, {
          deadline: t0 + options.timeoutMs,
          stallMs: options.stallMs,
          failure: () => run.failure(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const wire1 = await options.wireBytes?.();
        const wire = wire0 === undefined || wire1 === undefined
          ? undefined
          : wire1 - wire0;
        return { outcome, t0, lastLines: run.lastLines(), wire };
      },
    );
    return finish(value, peaks);
  } catch (error) {
    return {
      outcome: { kind: "error", message: message(error) },
      seconds: null,
      peaks: { src: null, dst: null },
    };
  }
}

/** Syncs `src` (whose manifest is `expected`) into an empty folder with `tool`. */
export async function measureTransfer(
  tool: SyncTool,
  src: string,
  expected: Manifest,
  scratch: string,
  options: MeasureOptions,
): Promise<TransferResult> {
  const none = { src: null, dst: null };
  const reason = await tool.unavailable();
  if (reason !== null) {
    return {
      outcome: { kind: "unavailable", reason },
      seconds: null,
      peaks: none,
    };
  }
  try {
    const { value, peaks } = await withRun(
      tool,
      src,
      scratch,
      options.sides,
      async (run, dst) => {
        const wire0 = await options.wireBytes?.();
        const t0 = performance.now();
        await run.start();
        const outcome = await waitForIdentical(dst, expected, {
          deadline: t0 + options.timeoutMs,
          stallMs: options.stallMs,
          failure: () => run.failure(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const wire1 = await options.wireBytes?.();
        const wire = wire0 === undefined || wire1 === undefined
          ? undefined
          : wire1 - wire0;
        return { outcome, t0, lastLines: run.lastLines(), wire };
      },
    );
    return finish(value, peaks);
  } catch (error) {
    return {
      outcome: { kind: "error", message: message(error) },
      seconds: null,
      peaks: none,
    };
  }
}

/** Result of {@linkcode measureLatency}. */
export type LatencyResult =
  | { kind: "done"; samples: number[]; peaks: SidePeaks }
  | { kind: "not continuous" }
  | { kind: "unavailable"; reason: string }
  | { kind: "error"; message: string }
  | { kind: "warm-up"; outcome: WaitOutcome }
  | { kind: "timeout"; samples: number[] }
  | { kind: "failed"; reason: string };

/** Options for {@linkcode measureLatency}. */
export interface LatencyOptions extends MeasureOptions {
  saves: number;
  size: number;
  /** Stop saving after this long (the median of fewer saves is reported). */
  budgetMs: number;
  seed: number;
}

const LATENCY_POLL_MS = 5;
const PAUSE_BETWEEN_SAVES_MS = 200;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readOrNull(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Starts `tool` on a folder with one small file, waits until it arrived (so
 * both sides are connected and idle), then saves `note.bin` with new content
 * up to `saves` times and measures, for each save, the time from the end of
 * the write until the other side holds exactly that content.
 */
export async function measureLatency(
  tool: SyncTool,
  scratch: string,
  options: LatencyOptions,
): Promise<LatencyResult> {
  if (!tool.continuous) return { kind: "not continuous" };
  const reason = await tool.unavailable();
  if (reason !== null) return { kind: "unavailable", reason };
  const src = await Deno.makeTempDir({
    dir: scratch,
    prefix: `${tool.name}-latency-src-`,
  });
  const rng = new Prng(options.seed);
  const content = () => {
    const data = new Uint8Array(options.size);
    rng.fill(data);
    return data;
  };
  try {
    await Deno.writeFile(`${src}/warmup.bin`, content());
    const expected = await buildManifest(src);
    const { value, peaks } = await withRun(
      tool,
      src,
      scratch,
      options.sides,
      async (run, dst) => {
        const started = performance.now();
        await run.start();
        const warm = await waitForIdentical(dst, expected, {
          deadline: started + options.timeoutMs,
          stallMs: options.stallMs,
          failure: () => run.failure(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (warm.kind !== "done") {
          return { kind: "warm-up", outcome: warm } as const;
        }
        const samples: number[] = [];
        const budgetEnd = performance.now() + options.budgetMs;
        while (
          samples.length < options.saves && performance.now() < budgetEnd
        ) {
          if (options.signal?.aborted) {
            break;
          }
          const data = content();
          await Deno.writeFile(`${src}/note.bin`, data);
          const t0 = performance.now();
          const deadline = t0 + options.stallMs;
          for (;;) {
            const got = readOrNull(`${dst}/note.bin`);
            if (got !== null && equalBytes(got, data)) {
              samples.push(performance.now() - t0);
              break;
            }
            const failure = run.failure();
            if (failure !== null) {
              return { kind: "failed", reason: failure } as const;
            }
            if (performance.now() > deadline || options.signal?.aborted) {
              return { kind: "timeout", samples } as const;
            }
            await new Promise((r) => setTimeout(r, LATENCY_POLL_MS));
          }
          await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_SAVES_MS));
        }
        return { kind: "done", samples } as const;
      },
    );
    return value.kind === "done" ? { ...value, peaks } : value;
  } catch (error) {
    return { kind: "error", message: message(error) };
  } finally {
    await Deno.remove(src, { recursive: true }).catch(() => {});
  }
}
