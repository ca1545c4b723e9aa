/**
 * End-to-end sync benchmark: time from start until the destination is
 * byte-identical, for dsync, `rsync -a` (to a daemon on loopback) and
 * Syncthing (two instances on loopback), each when installed; the peak
 * memory of each side; and the latency from a save on one side to the file
 * complete on the other. Datasets are written from a seed into a temp dir
 * under /tmp and removed afterwards; all traffic stays on 127.0.0.1.
 *
 *   deno run -A scripts/bench_sync.ts [--only big,small,text,large,latency]
 *     [--tools dsync,rsync,syncthing] [--timeout 120] [--stall 30]
 *     [--saves 20] [--latency-budget 60] [--seed 1] [--scratch /tmp]
 *
 * `--scratch` names the folder the datasets go under. File creation speed
 * can depend on the file system's recent past (ext4 without a journal
 * scans recently deleted inodes on every create), so for steady
 * small-file figures point it at a fresh file system, e.g. a loop-mounted
 * ext4 image.
 *
 * To see where dsync's time goes, set `DSYNC_BENCH_CPU_PROF=DIR`: each
 * dsync process writes a V8 CPU profile under DIR/src and DIR/dst, which
 * `scripts/cpu_prof_summary.ts` sums up by function.
 *
 * Times are from spawning the tool's processes (for rsync: the client, with
 * the daemon already listening) to the end of the poll that first saw every
 * file at full size, confirmed by hashing all of them. MB = 10^6 bytes.
 * @module
 */
import { parseArgs } from "node:util";
import {
  type DatasetSpec,
  LARGE_FOLDER,
  writeDataset,
} from "./bench_sync/datasets.ts";
import { dsync } from "./bench_sync/dsync_tool.ts";
import { summarizeLatency } from "./bench_sync/latency_stats.ts";
import { buildManifest } from "./bench_sync/manifest.ts";
import {
  type LatencyResult,
  measureLatency,
  measureTransfer,
  type SidePeaks,
  type TransferResult,
} from "./bench_sync/measure.ts";
import type { CpuTime } from "./bench_sync/proc.ts";
import { rsync } from "./bench_sync/rsync_tool.ts";
import type { SyncTool } from "./bench_sync/sync_tool.ts";
import { syncthing } from "./bench_sync/syncthing_tool.ts";
import { printTable, type Row } from "./bench_table.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const RSS_TARGET_MB = 200;

/** A transfer dataset and dsync's target for it. */
interface Dataset {
  key: "big" | "small" | "text" | "large";
  label: string;
  spec: DatasetSpec;
  targetSeconds: number;
  /** Peak RSS per side (issue #21: 200 MB for small files, 150 for the large folder). */
  rssTargetMb: number;
}

const DATASETS: Dataset[] = [
  {
    key: "big",
    label: "1 GiB / 4 random files",
    spec: { kind: "random", files: 4, size: 256 * MiB },
    targetSeconds: 4,
    rssTargetMb: RSS_TARGET_MB,
  },
  {
    key: "small",
    label: "20,000 × 4 KiB files",
    spec: { kind: "small", files: 20_000, size: 4 * KiB, perDir: 100 },
    targetSeconds: 6,
    rssTargetMb: RSS_TARGET_MB,
  },
  {
    key: "text",
    label: "1 GiB text / 64 files",
    spec: { kind: "text", files: 64, size: 16 * MiB },
    targetSeconds: 3,
    rssTargetMb: RSS_TARGET_MB,
  },
  {
    key: "large",
    label: "large folder: 100,000 × 1 KiB / 1,000 folders",
    spec: LARGE_FOLDER,
    targetSeconds: 25,
    rssTargetMb: 150,
  },
];

/** Every part the benchmark can run. */
export const PARTS = ["big", "small", "text", "large", "latency"] as const;
export type Part = typeof PARTS[number];

const TOOLS: SyncTool[] = [dsync, rsync, syncthing];
/** Issue #21: no regression, median ≤ 150 ms. */
const LATENCY_TARGET_MS = 150;

/** Options of {@linkcode benchSync}; every field has a default. */
export interface BenchSyncOptions {
  only?: Part[];
  tools?: string[];
  /** Per transfer (default 120 s). */
  timeoutMs?: number;
  /** Give up when the destination did not change for this long (default 30 s). */
  stallMs?: number;
  /** Latency: number of saves (default 20). */
  saves?: number;
  /** Latency: time budget for the saves of one tool (default 60 s). */
  latencyBudgetMs?: number;
  seed?: number;
  /** Folder the run's datasets go under (default /tmp). */
  scratchDir?: string;
  signal?: AbortSignal;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

function mb(bytes: number | null): string {
  return bytes === null ? "–" : (bytes / 1e6).toFixed(0);
}

function describeTransfer(r: TransferResult): string {
  const o = r.outcome;
  switch (o.kind) {
    case "done":
      return `${r.seconds!.toFixed(2)} s`;
    case "timeout":
      return `timeout (${tallyText(o)})`;
    case "stalled":
      return `n/a (no change in destination for ${
        (o.idleMs / 1000).toFixed(0)
      } s; ${tallyText(o)})`;
    case "failed":
      return `n/a (${o.reason})`;
    case "aborted":
      return "aborted";
    case "unavailable":
      return o.reason;
    case "error":
      return `error (${o.message})`;
  }
}

function tallyText(
  o: { matched: number; total: number; firstBad?: string },
): string {
  const first = o.firstBad === undefined ? "" : `, first wrong: ${o.firstBad}`;
  return `${o.matched}/${o.total} files identical${first}`;
}

function describePeaks(p: SidePeaks): string {
  return p.src === null && p.dst === null
    ? "–"
    : `${mb(p.src)}/${mb(p.dst)} MB`;
}

/** CPU seconds of each side, user + system, with the system share. */
function describeCpu(p: SidePeaks): string {
  const s = (v: CpuTime | null | undefined) =>
    v === null || v === undefined
      ? "–"
      : `${(v.user + v.sys).toFixed(1)} (sys ${v.sys.toFixed(1)})`;
  return p.srcCpu == null && p.dstCpu == null
    ? "–"
    : `${s(p.srcCpu)} / ${s(p.dstCpu)} s`;
}

function describeLatency(r: LatencyResult, saves: number): string {
  switch (r.kind) {
    case "done": {
      if (r.samples.length === 0) return "aborted";
      const s = summarizeLatency(r.samples);
      const fewer = s.count < saves ? `, ${s.count} saves in budget` : "";
      return `${fmtMs(s.median)} / ${fmtMs(s.p90)}${fewer}`;
    }
    case "not continuous":
      return "n/a (one-shot tool)";
    case "unavailable":
      return r.reason;
    case "error":
      return `error (${r.message})`;
    case "warm-up": {
      const why = describeTransfer({
        outcome: r.outcome,
        seconds: null,
        peaks: { src: null, dst: null },
      }).replace(/^n\/a \((.*)\)$/, "$1");
      return `n/a (first file never arrived: ${why})`;
    }
    case "timeout":
      return `timeout (save ${r.samples.length + 1} not seen in time)`;
    case "failed":
      return `n/a (${r.reason})`;
  }
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function joinCells(cells: [string, string][]): string {
  return cells.map(([tool, cell]) => `${tool} ${cell}`).join(" | ");
}

/** Load average and I/O pressure: other work on the machine skews timings. */
function machineLoad(): string {
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return "";
    }
  };
  const load = read("/proc/loadavg").split(" ")[0] ?? "?";
  const io = read("/proc/pressure/io").match(/^some avg10=([\d.]+)/)?.[1];
  return `load average ${load} on ${navigator.hardwareConcurrency} CPUs` +
    (io === undefined ? "" : `, I/O pressure ${io}%`);
}

/** Runs the sync benchmark; returns report rows. */
export async function benchSync(opts: BenchSyncOptions = {}): Promise<Row[]> {
  const only = opts.only ?? [...PARTS];
  const tools = TOOLS.filter((t) => !opts.tools || opts.tools.includes(t.name));
  const log = opts.log ?? ((line: string) => console.error(line));
  const seed = opts.seed ?? 1;
  const saves = opts.saves ?? 20;
  const limits = {
    timeoutMs: opts.timeoutMs ?? 120_000,
    stallMs: opts.stallMs ?? 30_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const rows: Row[] = [];
  const scratch = await Deno.makeTempDir({
    dir: opts.scratchDir ?? "/tmp",
    prefix: "dsync-bench-sync-",
  });
  try {
    for (const dataset of DATASETS) {
      if (!only.includes(dataset.key) || opts.signal?.aborted) continue;
      log(`sync: ${dataset.label}: ${machineLoad()}`);
      const src = `${scratch}/${dataset.key}`;
      await Deno.mkdir(src);
      let t = performance.now();
      await writeDataset(src, dataset.spec, seed);
      const expected = await buildManifest(src);
      log(
        `sync: ${dataset.label} written and hashed in ${
          ((performance.now() - t) / 1000).toFixed(1)
        } s`,
      );
      const times: [string, string][] = [];
      const peaks: [string, string][] = [];
      const cpus: [string, string][] = [];
      for (const tool of tools) {
        if (opts.signal?.aborted) break;
        t = performance.now();
        const result = await measureTransfer(
          tool,
          src,
          expected,
          scratch,
          limits,
        );
        const cell = describeTransfer(result);
        log(
          `sync: ${dataset.label}: ${tool.name} ${cell} (${
            ((performance.now() - t) / 1000).toFixed(1)
          } s with set-up and checks)`,
        );
        for (const line of result.lastLines ?? []) {
          if (!line.endsWith(": ")) log(`sync:   ${line}`);
        }
        times.push([tool.name, cell]);
        peaks.push([tool.name, describePeaks(result.peaks)]);
        cpus.push([tool.name, describeCpu(result.peaks)]);
        log(
          `sync: ${dataset.label}: ${tool.name} CPU src/dst ${
            describeCpu(result.peaks)
          }, peak RSS ${describePeaks(result.peaks)}`,
        );
      }
      await Deno.remove(src, { recursive: true });
      rows.push({
        name: `${dataset.label} (dsync target ≤ ${dataset.targetSeconds} s)`,
        value: joinCells(times),
      });
      rows.push({
        name:
          `${dataset.label}: peak RSS src/dst (target ≤ ${dataset.rssTargetMb} MB)`,
        value: joinCells(peaks),
      });
      rows.push({
        name: `${dataset.label}: CPU user+sys src/dst`,
        value: joinCells(cpus),
      });
    }
    if (only.includes("latency") && !opts.signal?.aborted) {
      const cells: [string, string][] = [];
      for (const tool of tools) {
        if (opts.signal?.aborted) break;
        const result = await measureLatency(tool, scratch, {
          ...limits,
          saves,
          size: 10 * KiB,
          budgetMs: opts.latencyBudgetMs ?? 60_000,
          seed,
        });
        const cell = describeLatency(result, saves);
        log(`sync: latency: ${tool.name} ${cell}`);
        cells.push([tool.name, cell]);
      }
      rows.push({
        name:
          `10 KiB save → peer, median / p90 of ${saves} (dsync target ≤ ${LATENCY_TARGET_MS} ms)`,
        value: joinCells(cells),
      });
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  return rows;
}

/** The options of the command line; throws `RangeError` on a bad value. */
export function parseCli(argv: string[]): BenchSyncOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      tools: { type: "string" },
      timeout: { type: "string" },
      stall: { type: "string" },
      saves: { type: "string" },
      "latency-budget": { type: "string" },
      seed: { type: "string" },
      scratch: { type: "string" },
    },
    strict: true,
  });
  const list = (s: string | undefined) =>
    s?.split(",").map((x) => x.trim()).filter(Boolean);
  const num = (name: string, s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) {
      throw new RangeError(
        `Cannot use --${name} "${s}": expected a positive number`,
      );
    }
    return n;
  };
  const opts: BenchSyncOptions = {};
  const only = list(values.only);
  if (only) {
    for (const part of only) {
      if (!(PARTS as readonly string[]).includes(part)) {
        throw new RangeError(
          `Unknown part "${part}" (expected ${PARTS.join(", ")})`,
        );
      }
    }
    opts.only = only as Part[];
  }
  const tools = list(values.tools);
  if (tools) {
    for (const name of tools) {
      if (!TOOLS.some((t) => t.name === name)) {
        throw new RangeError(
          `Unknown tool "${name}" (expected ${
            TOOLS.map((t) => t.name).join(", ")
          })`,
        );
      }
    }
    opts.tools = tools;
  }
  const timeout = num("timeout", values.timeout);
  if (timeout !== undefined) opts.timeoutMs = timeout * 1000;
  const stall = num("stall", values.stall);
  if (stall !== undefined) opts.stallMs = stall * 1000;
  const savesN = num("saves", values.saves);
  if (savesN !== undefined) opts.saves = Math.floor(savesN);
  const budget = num("latency-budget", values["latency-budget"]);
  if (budget !== undefined) opts.latencyBudgetMs = budget * 1000;
  const seed = num("seed", values.seed);
  if (seed !== undefined) opts.seed = Math.floor(seed);
  if (values.scratch !== undefined) {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(values.scratch);
    } catch {
      // Reported below.
    }
    if (!info?.isDirectory) {
      throw new RangeError(
        `Cannot use --scratch "${values.scratch}": not a directory`,
      );
    }
    opts.scratchDir = values.scratch;
  }
  return opts;
}

if (import.meta.main) {
  let opts: BenchSyncOptions;
  try {
    opts = parseCli(Deno.args);
  } catch (error) {
    console.error(
      `bench_sync: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(2);
  }
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) Deno.exit(130);
    console.error("bench_sync: stopping (Ctrl-C again to quit now)…");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    printTable(await benchSync({ ...opts, signal: stop.signal }));
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}
