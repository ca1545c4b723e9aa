/**
 * `deno task bench links`: the sync workloads of issue #21 on loopback, on a
 * veth pair between two network namespaces shaped with `tc … tbf` (1 Gbit/s
 * and 100 Mbit/s by default; no added delay), and on a mesh of devices on a
 * bridge at 100 Mbit/s each, for dsync, rsync (daemon) and Syncthing in the
 * same run. Each shaped link's own throughput is measured first with a TCP
 * blast (link_blast.ts); "link time" is payload / that throughput. Prints
 * one table: every workload in every setting, the ratio against Syncthing,
 * and the issue's target with PASS/FAIL.
 *
 *   deno run -A scripts/bench_links.ts [--modes loopback,link,mesh]
 *     [--rates 1gbit,100mbit] [--mesh-rate 100mbit] [--devices 6]
 *     [--only big,text,small,delta,latency] [--tools dsync,rsync,syncthing]
 *     [--scale F | --quick] [--timeout S] [--stall S] [--seed N]
 *     [--scratch DIR] [--dry-run]
 *
 * `--scale F` (0 < F ≤ 1) multiplies every size and the small-file count
 * (`--quick`: 1/64, shorter time limits). Namespace modes need root; without
 * it they print a named skip. Every namespace (with its veths and bridge)
 * and every process is removed at the end, also on Ctrl-C or failure.
 * @module
 */
import { buildManifest } from "./bench_sync/manifest.ts";
import { changedChunkBytesOf } from "./bench_sync/changed_chunks.ts";
import { writeDataset } from "./bench_sync/datasets.ts";
import { dsync } from "./bench_sync/dsync_tool.ts";
import { BlastReportError, measureLink } from "./bench_sync/link_blast.ts";
import {
  type Cell,
  formatTable,
  type LinksOptions,
  LinksUsageError,
  type MeasuredRow,
  meshFileSize,
  parseLinksArgs,
  type Setting,
  settingName,
  type Workload,
  workloads,
} from "./bench_sync/links_plan.ts";
import { summarizeLatency } from "./bench_sync/latency_stats.ts";
import {
  measureChange,
  measureLatency,
  type MeasureOptions,
  measureTransfer,
  type SidePeaks,
  type TransferResult,
} from "./bench_sync/measure.ts";
import type { CpuTime } from "./bench_sync/proc.ts";
import {
  Netlab,
  NetlabError,
  rateBits,
  whyNoNetlab,
} from "./bench_sync/netlab.ts";
import { Prng } from "./bench_sync/prng.ts";
import { rsync } from "./bench_sync/rsync_tool.ts";
import { measureSpread, type SpreadResult } from "./bench_sync/spread.ts";
import type { Endpoint, SyncTool } from "./bench_sync/sync_tool.ts";
import { syncthing } from "./bench_sync/syncthing_tool.ts";

const TOOLS: SyncTool[] = [dsync, rsync, syncthing];

/** A shaped setting ready to use: where the sides run, and the link. */
interface Place {
  setting: Setting;
  sides?: readonly [Endpoint, Endpoint];
  lab?: Netlab;
  /** Measured throughput of the link, bytes per second. */
  throughput?: number;
}

/** What every step of one run shares. */
interface Run {
  opts: LinksOptions;
  tools: SyncTool[];
  scratch: string;
  log: (line: string) => void;
  signal: AbortSignal | undefined;
  /** Namespaces made so far, all closed at the end. */
  labs: Netlab[];
  skips: string[];
  rows: MeasuredRow[];
}

/** What a run produced: rows, and the settings that were skipped and why. */
export interface LinksReport {
  rows: MeasuredRow[];
  skips: string[];
}

function outcomeNote(r: TransferResult | SpreadResult): string {
  const o = r.outcome;
  switch (o.kind) {
    case "done":
      return "done";
    case "timeout":
      return `timeout (${o.matched}/${o.total})`;
    case "stalled":
      return `stalled (${o.matched}/${o.total})`;
    case "failed":
      return `failed (${o.reason.slice(0, 60)})`;
    case "aborted":
      return "aborted";
    case "unavailable":
      return o.reason;
    case "error":
      return `error (${o.message.slice(0, 60)})`;
  }
}

function cellOf(r: TransferResult): Cell {
  const cell: Cell = { seconds: r.seconds, note: outcomeNote(r) };
  if (r.wireBytes !== undefined) cell.wireBytes = r.wireBytes;
  const peaks = [r.peaks.src, r.peaks.dst].filter((p) => p !== null);
  if (peaks.length > 0) cell.peakRss = Math.max(...peaks);
  return cell;
}

function machineLoad(): string {
  try {
    return `load average ${
      Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")
    } on ${navigator.hardwareConcurrency} CPUs`;
  } catch {
    return "load unknown";
  }
}

/**
 * Writes `data` at `offset` of `path`, as a later save: the mtime moves at
 * least 2 s past the one before. Patches a second apart otherwise share
 * the mtime's second, and rsync's quick check (size and mtime) then skips
 * the file: the delta row showed rsync "stalled" on a fast sitting.
 */
async function patch(path: string, offset: number, data: Uint8Array) {
  const before = (await Deno.stat(path)).mtime?.getTime() ?? 0;
  {
    using file = await Deno.open(path, { write: true });
    await file.seek(offset, Deno.SeekMode.Start);
    for (let off = 0; off < data.length;) {
      off += await file.write(data.subarray(off));
    }
  }
  const mtime = new Date(Math.max(Date.now(), before + 2_000));
  await Deno.utime(path, mtime, mtime);
}

async function readAt(path: string, offset: number, length: number) {
  using file = await Deno.open(path, { read: true });
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = await file.read(buf.subarray(got));
    if (n === null) throw new Error(`${path} is shorter than expected`);
    got += n;
  }
  return buf;
}

/**
 * The settings to measure in: loopback, and a shaped pair per rate (with
 * its throughput measured); without root the pairs are a named skip.
 */
async function openLinks(run: Run): Promise<Place[]> {
  const { opts, scratch, log, skips, labs } = run;
  const places: Place[] = [];
  if (opts.modes.includes("loopback")) {
    places.push({ setting: { kind: "loopback" } });
  }
  if (!opts.modes.includes("link")) return places;
  const why = await whyNoNetlab();
  if (why !== null) {
    skips.push(`shaped link: skipped (${why})`);
    return places;
  }
  for (const rate of opts.rates) {
    const lab = await Netlab.pair(rate);
    labs.push(lab);
    const [a, b] = lab.hosts;
    if (a === undefined || b === undefined) throw new Error("No pair made");
    const throughput = await blast(a, b, rate, opts, scratch);
    log(
      `links: link ${rate}: measured ${
        (throughput * 8 / 1e6).toFixed(0)
      } Mbit/s`,
    );
    places.push({
      setting: { kind: "link", rate },
      sides: [a, b],
      lab,
      throughput,
    });
  }
  return places;
}

async function blast(
  a: Endpoint,
  b: Endpoint,
  rate: string,
  opts: LinksOptions,
  scratch: string,
): Promise<number> {
  const seconds = opts.scale < 1 / 8 ? 0.5 : 3;
  const bytes = Math.round(rateBits(rate) / 8 * seconds);
  return await measureLink(a, b, bytes, 3, scratch);
}

/** The limits of a measurement at `place`, with its wire counter. */
function limits(run: Run, place: Place): MeasureOptions {
  return {
    timeoutMs: run.opts.timeoutMs,
    stallMs: run.opts.stallMs,
    ...(run.signal ? { signal: run.signal } : {}),
    ...(place.sides ? { sides: place.sides } : {}),
    ...(place.lab ? { wireBytes: () => place.lab!.sentBytes() } : {}),
  };
}

/**
 * Runs the plan in `opts`; every namespace and process made is removed
 * before it returns, also when `signal` aborts it or a step throws.
 */
export async function benchLinks(
  opts: LinksOptions,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<LinksReport> {
  const run: Run = {
    opts,
    tools: TOOLS.filter((t) => opts.tools.includes(t.name)),
    scratch: await Deno.makeTempDir({
      dir: opts.scratchDir,
      prefix: "dsync-bench-links-",
    }),
    log,
    signal,
    labs: [],
    skips: [],
    rows: [],
  };
  try {
    const places = await openLinks(run);
    for (const workload of workloads(opts.only, opts.scale)) {
      if (signal?.aborted || places.length === 0) break;
      await runWorkload(run, workload, places);
    }
    if (
      opts.only.includes("latency") && opts.modes.includes("loopback") &&
      !signal?.aborted
    ) {
      run.rows.push(await runLatency(run));
    }
    if (opts.modes.includes("mesh") && !signal?.aborted) {
      const why = await whyNoNetlab();
      if (why !== null) run.skips.push(`mesh: skipped (${why})`);
      else run.rows.push(await runMesh(run));
    }
  } finally {
    for (const lab of run.labs) await lab.close();
    await Deno.remove(run.scratch, { recursive: true }).catch(() => {});
  }
  return { rows: run.rows, skips: run.skips };
}

async function runWorkload(
  run: Run,
  workload: Workload,
  places: Place[],
): Promise<void> {
  const { opts, tools, scratch, log, rows, signal } = run;
  const src = `${scratch}/${workload.key}`;
  await Deno.mkdir(src);
  try {
    await writeDataset(src, workload.spec, opts.seed);
    const expected = await buildManifest(src);
    const payload = [...expected.values()].reduce((n, e) => n + e.size, 0);
    let change: (() => Promise<void>) | undefined;
    let restore: (() => Promise<void>) | undefined;
    let changed = expected;
    let changedChunks: number | undefined;
    if (workload.change) {
      const { offset, length } = workload.change;
      const path = `${src}/${[...expected.keys()][0]!}`;
      const original = await readAt(path, offset, length);
      const fresh = new Uint8Array(length);
      new Prng(opts.seed + 99).fill(fresh);
      change = () => patch(path, offset, fresh);
      restore = () => patch(path, offset, original);
      changedChunks = await changedChunkBytesOf(path, change);
      changed = await buildManifest(src);
      await restore();
    }
    for (const place of places) {
      const row: MeasuredRow = {
        workload: workload.key,
        label: workload.label,
        setting: place.setting,
        cells: new Map(),
        scale: opts.scale,
        ...(changedChunks === undefined ? {} : { changedChunks }),
      };
      if (place.throughput !== undefined) {
        row.linkRate = place.throughput;
        if (!workload.change) row.linkSeconds = payload / place.throughput;
      }
      for (const tool of tools) {
        if (signal?.aborted) break;
        log(
          `links: ${workload.label}, ${
            settingName(place.setting)
          }: ${tool.name}… (${machineLoad()})`,
        );
        const result = change && restore
          ? await measureChange(
            tool,
            src,
            change,
            changed,
            scratch,
            limits(run, place),
          )
            .finally(restore)
          : await measureTransfer(
            tool,
            src,
            expected,
            scratch,
            limits(run, place),
          );
        const cell = cellOf(result);
        log(
          `links: ${workload.label}, ${
            settingName(place.setting)
          }: ${tool.name} ${
            cell.seconds === null ? cell.note : `${cell.seconds.toFixed(2)} s`
          }${
            cell.wireBytes === undefined
              ? ""
              : `, ${(cell.wireBytes / 1e6).toFixed(2)} MB on the wire`
          }${cpuOf(result.peaks)}`,
        );
        for (const line of result.lastLines ?? []) log(`links:   ${line}`);
        row.cells.set(tool.name, cell);
      }
      rows.push(row);
    }
  } finally {
    await Deno.remove(src, { recursive: true }).catch(() => {});
  }
}

/** `, CPU a / b s` (user + system of sender / receiver), or "" when unknown. */
function cpuOf(peaks: SidePeaks | undefined): string {
  const s = (v: CpuTime | null | undefined) =>
    v == null ? "–" : (v.user + v.sys).toFixed(1);
  return peaks?.srcCpu == null && peaks?.dstCpu == null
    ? ""
    : `, CPU ${s(peaks.srcCpu)} / ${s(peaks.dstCpu)} s`;
}

async function runLatency(run: Run): Promise<MeasuredRow> {
  const { opts, tools, scratch, log, signal } = run;
  const saves = opts.scale < 1 / 8 ? 5 : 20;
  const row: MeasuredRow = {
    workload: "latency",
    label: `10 KiB save → peer, median of ${saves}`,
    setting: { kind: "loopback" },
    cells: new Map(),
    scale: opts.scale,
  };
  for (const tool of tools) {
    if (!tool.continuous || signal?.aborted) continue;
    log(`links: latency: ${tool.name}…`);
    const r = await measureLatency(tool, scratch, {
      timeoutMs: opts.timeoutMs,
      stallMs: opts.stallMs,
      ...(signal ? { signal } : {}),
      saves,
      size: 10 * 1024,
      budgetMs: 60_000,
      seed: opts.seed,
    });
    const cell: Cell = r.kind === "done" && r.samples.length > 0
      ? { seconds: summarizeLatency(r.samples).median / 1000, note: "done" }
      : { seconds: null, note: r.kind };
    log(`links: latency: ${tool.name} ${cell.seconds ?? cell.note}`);
    row.cells.set(tool.name, cell);
  }
  return row;
}

async function runMesh(run: Run): Promise<MeasuredRow> {
  const { opts, tools, scratch, log, labs } = run;
  const size = meshFileSize(opts.scale);
  const lab = await Netlab.star(opts.devices, opts.meshRate);
  labs.push(lab);
  const hosts = lab.hosts as Endpoint[];
  const throughput = await blast(
    hosts[0]!,
    hosts[1]!,
    opts.meshRate,
    opts,
    scratch,
  );
  log(
    `links: mesh: one device to another at ${
      (throughput * 8 / 1e6).toFixed(0)
    } Mbit/s`,
  );
  const setting: Setting = {
    kind: "mesh",
    rate: opts.meshRate,
    devices: opts.devices,
  };
  const row: MeasuredRow = {
    workload: "mesh",
    label: meshLabel(opts.scale),
    setting,
    cells: new Map(),
    linkSeconds: size / throughput,
    linkRate: throughput,
    scale: opts.scale,
  };
  for (const tool of tools) {
    if (!tool.prepareGroup) continue;
    log(`links: mesh: ${tool.name}… (${machineLoad()})`);
    const r = await measureSpread(tool, hosts, size, opts.seed, scratch, {
      ...limits(run, { setting, lab }),
    });
    const cell: Cell = { seconds: r.seconds, note: outcomeNote(r) };
    if (r.wireBytes !== undefined) cell.wireBytes = r.wireBytes;
    log(
      `links: mesh: ${tool.name} ${cell.seconds ?? cell.note} (per device: ${
        r.perDevice.map((s) => s === null ? "–" : s.toFixed(1)).join(", ")
      })`,
    );
    for (const line of r.lastLines ?? []) log(`links:   ${line}`);
    row.cells.set(tool.name, cell);
  }
  await lab.close();
  return row;
}

function meshLabel(scale: number): string {
  const size = meshFileSize(scale);
  return `new ${+(size / 2 ** 20).toFixed(2)} MiB file to all`;
}

/** The plan `--dry-run` prints: every row that would be measured. */
export function describePlan(opts: LinksOptions): string[] {
  const lines = [
    `tools: ${opts.tools.join(", ")}; scale ${opts.scale}; timeout ${
      opts.timeoutMs / 1000
    } s`,
  ];
  const settings: string[] = [];
  if (opts.modes.includes("loopback")) settings.push("loopback");
  if (opts.modes.includes("link")) {
    settings.push(...opts.rates.map((r) => `link ${r}`));
  }
  for (const w of workloads(opts.only, opts.scale)) {
    lines.push(`${w.label}: ${settings.join(", ") || "(no setting)"}`);
  }
  if (opts.only.includes("latency") && opts.modes.includes("loopback")) {
    lines.push("10 KiB save → peer: loopback");
  }
  if (opts.modes.includes("mesh")) {
    lines.push(
      `${meshLabel(opts.scale)}: mesh ${opts.devices} × ${opts.meshRate}`,
    );
  }
  return lines;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let opts: LinksOptions;
  try {
    opts = parseLinksArgs(argv);
  } catch (error) {
    if (!(error instanceof LinksUsageError)) throw error;
    console.error(`bench links: ${error.message}`);
    return 2;
  }
  if (opts.dryRun) {
    for (const line of describePlan(opts)) console.log(line);
    return 0;
  }
  const stop = new AbortController();
  const onSignal = () => {
    console.error("bench links: stopping and cleaning up…");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const log = (line: string) => console.error(line);
    log(`links: start, ${machineLoad()}`);
    let report: LinksReport;
    try {
      report = await benchLinks(opts, log, stop.signal);
    } catch (error) {
      if (
        !(error instanceof NetlabError || error instanceof BlastReportError)
      ) throw error;
      console.error(`bench links: ${error.message}`);
      return 1;
    }
    for (const line of formatTable(report.rows, opts.tools)) console.log(line);
    for (const line of report.skips) console.log(line);
    console.log(machineLoad());
    return stop.signal.aborted ? 130 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
