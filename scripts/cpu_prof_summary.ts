/**
 * Self time per function of a V8 `.cpuprofile` (as `deno run --cpu-prof`
 * writes), with the callers that account for most of each, so that a
 * profile of a benchmark run can be read without a browser:
 *
 *   deno run -A scripts/cpu_prof_summary.ts FILE.cpuprofile [--top 40]
 *
 * Self time is the samples whose top frame is the function; "total" counts
 * every sample with the function anywhere on the stack (once per sample).
 * Samples are wall time: on a machine whose cores are all busy, the time a
 * thread waits to run again is charged to the call it was in. A receiver's
 * `postMessage` to a worker showed 0.7 ms per call that way, against
 * 35-60 µs on an idle machine (waking the worker gave it the caller's
 * core). For CPU alone, pin the processes (`taskset`) and sample with
 * `perf record -e cpu-clock -C CORE`.
 * @module
 */
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of a profile. */
export interface FunctionCost {
  name: string;
  selfMs: number;
  totalMs: number;
  /** Callers by self time spent in this function under them. */
  callers: [string, number][];
}

function label(node: ProfileNode): string {
  const f = node.callFrame;
  const file = f.url.replace(/^.*\/(src|scripts|ext|node_modules)\//, "$1/");
  const name = f.functionName === "" ? "(anonymous)" : f.functionName;
  return file === "" ? name : `${name} ${file}:${f.lineNumber + 1}`;
}

/** Self and total time per function, most self time first. */
export function summarize(profile: Profile): FunctionCost[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const costs = new Map<
    string,
    { self: number; total: number; callers: Map<string, number> }
  >();
  const costOf = (name: string) => {
    let c = costs.get(name);
    if (c === undefined) {
      costs.set(name, c = { self: 0, total: 0, callers: new Map() });
    }
    return c;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) /
      1000;
    const top = byId.get(profile.samples[i]!);
    if (top === undefined) continue;
    const name = label(top);
    const c = costOf(name);
    c.self += ms;
    const up = parent.get(top.id);
    const caller = up === undefined ? "(root)" : label(byId.get(up)!);
    c.callers.set(caller, (c.callers.get(caller) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = top.id; id !== undefined;) {
      const node = byId.get(id)!;
      const n = label(node);
      if (!seen.has(n)) {
        seen.add(n);
        costOf(n).total += ms;
      }
      id = parent.get(id);
    }
  }
  return [...costs].map(([name, c]) => ({
    name,
    selfMs: c.self,
    totalMs: c.total,
    callers: [...c.callers].sort((a, b) => b[1] - a[1]),
  })).sort((a, b) => b.selfMs - a.selfMs);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string" }, total: { type: "boolean" } },
    allowPositionals: true,
  });
  const top = Number(values.top ?? 40);
  if (positionals.length !== 1 || !Number.isInteger(top) || top <= 0) {
    console.error(
      "Usage: cpu_prof_summary.ts FILE.cpuprofile [--top N] [--total]",
    );
    Deno.exit(2);
  }
  let profile: Profile;
  try {
    profile = JSON.parse(await Deno.readTextFile(positionals[0]!));
  } catch (err) {
    console.error(`Cannot read profile "${positionals[0]}": ${err}`);
    Deno.exit(2);
  }
  const rows = summarize(profile);
  const all = rows.reduce((s, r) => s + r.selfMs, 0);
  const idle = rows.filter((r) => r.name.startsWith("(idle)"))
    .reduce((s, r) => s + r.selfMs, 0);
  console.log(
    `${(all / 1000).toFixed(1)} s sampled, ${
      ((all - idle) / 1000).toFixed(1)
    } s busy`,
  );
  const sorted = values.total
    ? [...rows].sort((a, b) => b.totalMs - a.totalMs)
    : rows;
  for (const r of sorted.slice(0, top)) {
    const callers = r.callers.slice(0, 3)
      .map(([n, ms]) => `${n.split(" ")[0]} ${ms.toFixed(0)}`).join(", ");
    console.log(
      `${r.selfMs.toFixed(0).padStart(7)} ms ${
        r.totalMs.toFixed(0).padStart(7)
      } ms  ${r.name}  <- ${callers}`,
    );
  }
}
