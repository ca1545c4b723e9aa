/**
 * The pure half of `deno task bench links`: its command line, the workloads
 * scaled by `--scale`, the targets of issue #21 for each workload and
 * setting, the verdict on a measured row, and the side-by-side table.
 * @module
 */
import { parseArgs } from "node:util";
import type { DatasetSpec } from "./datasets.ts";
import { rateBits } from "./netlab.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Where a workload runs: loopback, a shaped veth pair, or the mesh. */
export type Setting =
  | { kind: "loopback" }
  | { kind: "link"; rate: string }
  | { kind: "mesh"; rate: string; devices: number };

export const MODES = ["loopback", "link", "mesh"] as const;
export type Mode = typeof MODES[number];
export const WORKLOADS = ["big", "text", "small", "delta", "latency"] as const;
export type WorkloadKey = typeof WORKLOADS[number];
export const TOOL_NAMES = ["dsync", "rsync", "syncthing"] as const;

/** Options of `deno task bench links`. */
export interface LinksOptions {
  modes: Mode[];
  rates: string[];
  meshRate: string;
  devices: number;
  only: WorkloadKey[];
  tools: string[];
  /** Multiplies every size (and the small-file count); 1 = the sizes. */
  scale: number;
  timeoutMs: number;
  stallMs: number;
  seed: number;
  scratchDir: string;
  /** Print the plan and exit. */
  dryRun: boolean;
}

/** A bad command line; the CLI prints its message and exits 2. */
export class LinksUsageError extends Error {
  override name = "LinksUsageError";
}

const QUICK_SCALE = 1 / 64;

function list<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[] | null,
  fallback: T[],
): T[] {
  if (value === undefined) return fallback;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new LinksUsageError(`--${flag} is empty`);
  for (const item of items) {
    if (allowed !== null && !allowed.includes(item as T)) {
      throw new LinksUsageError(
        `Unknown --${flag} "${item}" (expected ${allowed.join(", ")})`,
      );
    }
  }
  return items as T[];
}

function positive(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new LinksUsageError(
      `Cannot use --${flag} "${value}": expected a positive number`,
    );
  }
  return n;
}

/** Parses the command line; throws {@linkcode LinksUsageError}. */
export function parseLinksArgs(argv: string[]): LinksOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        modes: { type: "string" },
        rates: { type: "string" },
        "mesh-rate": { type: "string" },
        devices: { type: "string" },
        only: { type: "string" },
        tools: { type: "string" },
        scale: { type: "string" },
        quick: { type: "boolean" },
        timeout: { type: "string" },
        stall: { type: "string" },
        seed: { type: "string" },
        scratch: { type: "string" },
        "dry-run": { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    throw new LinksUsageError((error as Error).message);
  }
  const rates = list("rates", values.rates, null, ["1gbit", "100mbit"]);
  const meshRate = values["mesh-rate"] ?? "100mbit";
  for (const rate of [...rates, meshRate]) {
    try {
      rateBits(rate);
    } catch (error) {
      throw new LinksUsageError((error as Error).message);
    }
  }
  const devices = positive("devices", values.devices) ?? 6;
  if (!Number.isInteger(devices) || devices < 2 || devices > 20) {
    throw new LinksUsageError(
      `Cannot use --devices "${values.devices}": expected 2 to 20`,
    );
  }
  let scale = positive("scale", values.scale) ?? 1;
  if (values.quick) {
    if (values.scale !== undefined) {
      throw new LinksUsageError("Use --quick or --scale, not both");
    }
    scale = QUICK_SCALE;
  }
  if (scale > 1) {
    throw new LinksUsageError(
      `Cannot use --scale "${values.scale}": expected at most 1`,
    );
  }
  const timeout = positive("timeout", values.timeout) ??
    (values.quick ? 60 : 300);
  const stall = positive("stall", values.stall) ?? (values.quick ? 20 : 60);
  const seed = positive("seed", values.seed) ?? 1;
  return {
    modes: list("modes", values.modes, MODES, [...MODES]),
    rates,
    meshRate,
    devices,
    only: list("only", values.only, WORKLOADS, [...WORKLOADS]),
    tools: list("tools", values.tools, TOOL_NAMES, [...TOOL_NAMES]),
    scale,
    timeoutMs: timeout * 1000,
    stallMs: stall * 1000,
    seed: Math.floor(seed),
    scratchDir: values.scratch ?? "/tmp",
    dryRun: values["dry-run"] ?? false,
  };
}

/** A transfer workload at the chosen scale. */
export interface Workload {
  key: Exclude<WorkloadKey, "latency">;
  label: string;
  spec: DatasetSpec;
  /** Delta: bytes overwritten and where (inside the one file). */
  change?: { offset: number; length: number };
}

function scaled(bytes: number, scale: number, min: number): number {
  return Math.max(min, Math.round(bytes * scale / 4096) * 4096);
}

function size(bytes: number): string {
  return bytes >= 1024 * MiB
    ? `${+(bytes / (1024 * MiB)).toFixed(2)} GiB`
    : bytes >= MiB
    ? `${+(bytes / MiB).toFixed(1)} MiB`
    : `${+(bytes / KiB).toFixed(0)} KiB`;
}

/** The transfer workloads of `only`, scaled. */
export function workloads(only: WorkloadKey[], scale: number): Workload[] {
  const out: Workload[] = [];
  if (only.includes("big")) {
    const s = scaled(256 * MiB, scale, 64 * KiB);
    out.push({
      key: "big",
      label: `${size(4 * s)} random / 4 files`,
      spec: { kind: "random", files: 4, size: s },
    });
  }
  if (only.includes("text")) {
    const s = scaled(16 * MiB, scale, 16 * KiB);
    out.push({
      key: "text",
      label: `${size(64 * s)} text / 64 files`,
      spec: { kind: "text", files: 64, size: s },
    });
  }
  if (only.includes("small")) {
    const files = Math.max(20, Math.round(20_000 * scale));
    out.push({
      key: "small",
      label: `${files.toLocaleString("en")} × 4 KiB files`,
      spec: { kind: "small", files, size: 4 * KiB, perDir: 100 },
    });
  }
  if (only.includes("delta")) {
    const s = scaled(256 * MiB, scale, 256 * KiB);
    const length = scaled(MiB, scale, 4 * KiB);
    out.push({
      key: "delta",
      label: `${size(length)} changed in ${size(s)}`,
      spec: { kind: "random", files: 1, size: s },
      change: { offset: Math.floor(s * 0.39) + 1234, length },
    });
  }
  return out;
}

/** Bytes of the mesh's new file at `scale`. */
export function meshFileSize(scale: number): number {
  return scaled(256 * MiB, scale, 256 * KiB);
}

/** One tool's figures for one workload in one setting. */
export interface Cell {
  /** Seconds, or null when it did not finish (then `note` says why). */
  seconds: number | null;
  note: string;
  wireBytes?: number;
  /** Largest peak RSS of either side, bytes. */
  peakRss?: number;
}

/** A measured row: a workload in a setting, with each tool's cell. */
export interface MeasuredRow {
  workload: WorkloadKey | "mesh";
  label: string;
  setting: Setting;
  cells: Map<string, Cell>;
  /** Payload bytes / measured link throughput (shaped settings). */
  linkSeconds?: number;
  /** The link's measured throughput, bytes per second (shaped settings). */
  linkRate?: number;
  /** Payload bytes (for the wire target, scaled). */
  changeBytes?: number;
  /**
   * Delta rows: bytes of the changed file's new chunks (dsync's chunker),
   * the least that whole chunks can carry (changed_chunks.ts).
   */
  changedChunks?: number;
  scale: number;
}

/** A target's text and whether the row meets it (null: cannot tell). */
export interface Verdict {
  target: string;
  pass: boolean | null;
}

function ratio(row: MeasuredRow): number | null {
  const d = row.cells.get("dsync")?.seconds;
  const s = row.cells.get("syncthing")?.seconds;
  return d == null || s == null ? null : d / s;
}

function all(parts: (boolean | null)[]): boolean | null {
  if (parts.some((p) => p === false)) return false;
  return parts.some((p) => p === null) ? null : true;
}

/** The targets of issue #21 for `row`, and whether they hold. */
export function verdict(row: MeasuredRow): Verdict[] {
  const r = ratio(row);
  const d = row.cells.get("dsync");
  const vsSyncthing = (max: number): Verdict => ({
    target: `≤ ${max}x Syncthing`,
    pass: r === null ? null : r <= max,
  });
  const kind = row.setting.kind;
  if (kind === "loopback") {
    switch (row.workload) {
      case "big":
      case "text":
      case "delta":
        return [vsSyncthing(0.8)];
      case "small": {
        const rss = d?.peakRss;
        return [vsSyncthing(0.25), {
          target: "peak RSS ≤ 200 MB per side",
          pass: rss === undefined ? null : rss <= 200e6,
        }];
      }
      case "latency":
        return [{
          target: "median ≤ 150 ms",
          pass: d?.seconds == null ? null : d.seconds <= 0.15,
        }];
      default:
        return [];
    }
  }
  const link = row.linkSeconds;
  const ds = d?.seconds ?? null;
  if (kind === "link") {
    switch (row.workload) {
      case "big":
        return [{
          target: "≤ 1.1x link time",
          pass: ds === null || link === undefined ? null : ds <= 1.1 * link,
        }];
      case "text":
        return [{
          target: "< link time",
          pass: ds === null || link === undefined ? null : ds < link,
        }];
      case "delta": {
        const limit = 1.2e6 * row.scale;
        const wire = d?.wireBytes;
        const floor = row.changedChunks === undefined
          ? ""
          : ` (new chunks alone: ${(row.changedChunks / 1e6).toFixed(2)} MB)`;
        return [vsSyncthing(0.8), {
          target: `wire ≤ ${(limit / 1e6).toFixed(2)} MB${floor}`,
          pass: wire === undefined ? null : wire <= limit,
        }];
      }
      default:
        return [];
    }
  }
  return [{
    target: "≤ 1.5x one transfer",
    pass: ds === null || link === undefined ? null : ds <= 1.5 * link,
  }, {
    target: "< Syncthing",
    pass: r === null ? null : r < 1,
  }];
}

/** "loopback", "link 1gbit", "mesh 6 × 100mbit". */
export function settingName(s: Setting): string {
  return s.kind === "loopback"
    ? "loopback"
    : s.kind === "link"
    ? `link ${s.rate}`
    : `mesh ${s.devices} × ${s.rate}`;
}

function fmtSeconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

function cellText(cell: Cell | undefined, showRss: boolean): string {
  if (cell === undefined) return "–";
  if (cell.seconds === null) return cell.note;
  const wire = cell.wireBytes === undefined
    ? ""
    : `, ${(cell.wireBytes / 1e6).toFixed(cell.wireBytes < 1e8 ? 2 : 0)} MB`;
  const rss = showRss && cell.peakRss !== undefined
    ? `, RSS ${(cell.peakRss / 1e6).toFixed(0)} MB`
    : "";
  return `${fmtSeconds(cell.seconds)}${wire}${rss}`;
}

function settingText(row: MeasuredRow): string {
  const rate = row.linkRate === undefined
    ? ""
    : ` (${(row.linkRate * 8 / 1e6).toFixed(0)} Mbit/s measured)`;
  return `${settingName(row.setting)}${rate}`;
}

/**
 * The side-by-side table: one line per workload and setting. A cell is the
 * time, then the bytes on the wire (shaped settings) and, for small files,
 * the larger peak RSS of the two sides.
 */
export function formatTable(rows: MeasuredRow[], tools: string[]): string[] {
  const header = [
    "workload",
    "setting",
    ...tools,
    "link time",
    "dsync/syncthing",
    "target",
    "verdict",
  ];
  const lines: string[][] = [header];
  for (const row of rows) {
    const r = ratio(row);
    const verdicts = verdict(row);
    lines.push([
      row.label,
      settingText(row),
      ...tools.map((t) => cellText(row.cells.get(t), row.workload === "small")),
      row.linkSeconds === undefined ? "–" : fmtSeconds(row.linkSeconds),
      r === null ? "–" : `${r.toFixed(2)}x`,
      verdicts.map((v) => v.target).join("; ") || "–",
      verdicts.length === 0 ? "–" : verdictText(verdicts),
    ]);
  }
  const widths = header.map((_, i) =>
    Math.max(...lines.map((l) => l[i]!.length))
  );
  const out = lines.map((l) =>
    l.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd()
  );
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("-|-"));
  return out;
}

function verdictText(vs: Verdict[]): string {
  const p = all(vs.map((v) => v.pass));
  return p === null ? "n/a" : p ? "PASS" : "FAIL";
}
