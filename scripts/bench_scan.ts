/**
 * Scanner benchmark: cold scan (empty index) and warm rescan (nothing
 * changed) of 1 GiB in 4 files and of 20,000 files of 4 KiB, and the time,
 * CPU and RSS of a process that cold-scans the large folder (100,000 files
 * of 1 KiB in 1,000 folders, the sync benchmark's `large` dataset) beside
 * `b3sum` over the same files in the same run. Data lives in a temp dir,
 * removed afterwards; it was just written, so reads come from the page
 * cache and the numbers measure hashing and bookkeeping, not the disk.
 *
 *   deno run -A scripts/bench_scan.ts
 */

import { HasherPool } from "../src/index/hasher_pool.ts";
import { IgnoreRules } from "../src/index/ignore_rules.ts";
import { Scanner, type ScanSummary } from "../src/index/scanner.ts";
import { IndexStore } from "../src/index/store.ts";
import { STATE_DIR } from "../src/index/state_dir.ts";
import { LARGE_FOLDER, writeDataset } from "./bench_sync/datasets.ts";
import { startTaskV8Flags } from "./bench_sync/dsync_tool.ts";

/** One line of the benchmark report. */
export interface Row {
  name: string;
  value: string;
}

const MiB = 1024 * 1024;
const RSS_CHILD_FLAG = "--rss-child";
/** Issue 21's targets for the cold index of the large folder. */
const LARGE_TARGET_S = 8;
const LARGE_RSS_TARGET_MB = 150;

/** Fills `buf` with xorshift128 noise (incompressible, no dedup). */
function fillRandom(buf: Uint8Array, seed: number): void {
  const words = new Uint32Array(
    buf.buffer,
    buf.byteOffset,
    buf.byteLength >>> 2,
  );
  let x = seed | 1, y = 362436069, z = 521288629, w = 88675123;
  for (let i = 0; i < words.length; i++) {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    words[i] = w;
  }
}

async function writeBigFiles(
  dir: string,
  count: number,
  size: number,
): Promise<void> {
  const block = new Uint8Array(16 * MiB);
  for (let f = 0; f < count; f++) {
    using file = await Deno.open(`${dir}/big-${f}.bin`, {
      write: true,
      create: true,
    });
    for (let written = 0; written < size; written += block.length) {
      fillRandom(block, f * 7919 + written / block.length + 1);
      const part = block.subarray(0, Math.min(block.length, size - written));
      for (let off = 0; off < part.length;) {
        off += await file.write(part.subarray(off));
      }
    }
  }
}

/** `count` files of `size` bytes, ~100 per directory, two levels deep. */
function writeSmallFiles(dir: string, count: number, size: number): void {
  const data = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    const sub = `${dir}/d${Math.floor(i / 10_000)}/e${
      Math.floor(i / 100) % 100
    }`;
    if (i % 100 === 0) Deno.mkdirSync(sub, { recursive: true });
    fillRandom(data, i + 1);
    Deno.writeFileSync(`${sub}/f${i}.bin`, data);
  }
}

interface Timed {
  summary: ScanSummary;
  ms: number;
}

async function scanTwice(dir: string): Promise<[Timed, Timed]> {
  const store = IndexStore.open(dir);
  const hasher = new HasherPool();
  try {
    const ignore = await IgnoreRules.load(dir);
    const scanner = new Scanner({ folder: dir, store, hasher, ignore });
    // A file modified within 50 ms of its hashing is hashed again at the
    // next scan (racy mtime); let fresh data age past that, as real data has.
    await new Promise((resolve) => setTimeout(resolve, 200));
    let t = performance.now();
    const cold = await scanner.scan();
    const coldMs = performance.now() - t;
    t = performance.now();
    const warm = await scanner.scan();
    const warmMs = performance.now() - t;
    return [{ summary: cold, ms: coldMs }, { summary: warm, ms: warmMs }];
  } finally {
    await hasher.close();
    store.close();
  }
}

function rate(files: number, bytes: number, ms: number): string {
  const s = ms / 1000;
  return `${ms.toFixed(0)} ms, ${(files / s).toFixed(0)} files/s, ${
    (bytes / 1e6 / s).toFixed(0)
  } MB/s`;
}

function describe(label: string, [cold, warm]: [Timed, Timed]): Row[] {
  return [
    {
      name: `${label}: cold scan`,
      value: `${rate(cold.summary.files, cold.summary.hashedBytes, cold.ms)} ` +
        `(${cold.summary.hashedFiles} hashed)`,
    },
    {
      name: `${label}: warm rescan`,
      value: `${warm.ms.toFixed(0)} ms, ` +
        `${(warm.summary.files / (warm.ms / 1000)).toFixed(0)} files/s ` +
        `(${warm.summary.hashedFiles} hashed)`,
    },
  ];
}

/** CPU seconds (user + system, all threads) this process has used so far. */
function cpuSeconds(): number | null {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th.
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null; // not Linux
  }
}

/** Child process body: cold-scan `dir`, print timing and RSS as JSON. */
async function rssChild(dir: string): Promise<void> {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }, 20);
  const store = IndexStore.open(dir);
  const hasher = new HasherPool();
  try {
    const ignore = await IgnoreRules.load(dir);
    const scanner = new Scanner({ folder: dir, store, hasher, ignore });
    const cpu0 = cpuSeconds();
    const t = performance.now();
    const summary = await scanner.scan();
    const ms = performance.now() - t;
    const cpu1 = cpuSeconds();
    const cpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    const rss = Deno.memoryUsage().rss;
    peak = Math.max(peak, rss);
    console.log(JSON.stringify({ files: summary.files, ms, cpu, rss, peak }));
  } finally {
    clearInterval(timer);
    await hasher.close();
    store.close();
  }
}

/**
 * Cold-scans `dir` in a fresh process, so that RSS is that of a process
 * doing only this. `v8Flags` are passed to that process.
 */
/** The V8 options of `deno task start`, one per element. */
async function startTaskV8Options(): Promise<string[]> {
  const denoJson = await Deno.readTextFile(
    new URL("../deno.json", import.meta.url),
  );
  return startTaskV8Flags(denoJson).flatMap((flag) =>
    flag.slice("--v8-flags=".length).split(",")
  );
}

/**
 * Seconds `b3sum` takes over every file below `dir` (listed by `find`, read
 * by as few `b3sum` processes as `xargs` needs), or null without `b3sum`.
 */
async function timeB3sum(dir: string): Promise<number | null> {
  const t = performance.now();
  try {
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        'find "$1" -type f -not -path "*/.dsync/*" -print0 | xargs -0 b3sum >/dev/null',
        "sh",
        dir,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) return null;
  } catch {
    return null;
  }
  return (performance.now() - t) / 1000;
}

async function measureRss(
  dir: string,
  v8Flags: string[],
  b3sumS: number | null,
): Promise<Row[]> {
  const flags = v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : [];
  const label = v8Flags.length > 0 ? ` (${v8Flags.join(" ")})` : "";
  await Deno.remove(`${dir}/${STATE_DIR}`, { recursive: true }).catch(() => {});
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...flags, import.meta.filename!, RSS_CHILD_FLAG, dir],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await child.output();
  if (out.code !== 0) throw new Error(`RSS child exited with code ${out.code}`);
  const result = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as {
    files: number;
    ms: number;
    cpu: number | null;
    rss: number;
    peak: number;
  };
  const ratio = b3sumS === null
    ? "no b3sum"
    : `${(result.ms / 1000 / b3sumS).toFixed(1)}x b3sum's ${
      b3sumS.toFixed(1)
    } s`;
  const cpu = result.cpu === null ? "" : `, CPU ${result.cpu.toFixed(1)} s`;
  return [
    {
      name:
        `100k x 1 KiB / 1,000 folders: cold index${label} (target ≤ ${LARGE_TARGET_S} s)`,
      value: `${rate(result.files, result.files * 1024, result.ms)}${cpu}; ` +
        ratio,
    },
    {
      name:
        `100k x 1 KiB / 1,000 folders: RSS after / peak${label} (target ≤ ${LARGE_RSS_TARGET_MB} MB)`,
      value: `${(result.rss / 1e6).toFixed(0)} MB / ${
        (result.peak / 1e6).toFixed(0)
      } MB`,
    },
  ];
}

/** Runs the scanner benchmark; returns report rows. */
export async function benchScan(): Promise<Row[]> {
  const root = await Deno.makeTempDir({ prefix: "dsync-bench-scan-" });
  const rows: Row[] = [];
  try {
    const big = `${root}/big`;
    await Deno.mkdir(big);
    await writeBigFiles(big, 4, 256 * MiB);
    rows.push(...describe("1 GiB in 4 files", await scanTwice(big)));
    await Deno.remove(big, { recursive: true });

    const small = `${root}/small`;
    await Deno.mkdir(small);
    writeSmallFiles(small, 20_000, 4096);
    rows.push(...describe("20k x 4 KiB", await scanTwice(small)));
    await Deno.remove(small, { recursive: true });

    const many = `${root}/many`;
    await Deno.mkdir(many);
    await writeDataset(many, LARGE_FOLDER, 1);
    const b3sumS = await timeB3sum(many);
    rows.push(...await measureRss(many, [], b3sumS));
    // What users run: V8 sizes its young generation up to 16 MiB per
    // semi-space and lets the old one grow to several times what is live;
    // the start task caps both.
    rows.push(
      ...await measureRss(many, await startTaskV8Options(), b3sumS),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  if (Deno.args[0] === RSS_CHILD_FLAG && Deno.args[1] !== undefined) {
    await rssChild(Deno.args[1]);
  } else {
    const rows = await benchScan();
    const width = Math.max(...rows.map((r) => r.name.length));
    for (const row of rows) {
      console.log(`${row.name.padEnd(width)}  ${row.value}`);
    }
  }
}
