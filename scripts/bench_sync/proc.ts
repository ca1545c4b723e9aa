/**
 * Linux `/proc` readings: which processes descend from one we started, and
 * how much memory they hold. Elsewhere the readings are empty.
 * @module
 */

/** Parent pid of every running process. */
export function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return parents;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number.isInteger(ppid)) parents.set(Number(entry.name), ppid);
    } catch { /* exited meanwhile */ }
  }
  return parents;
}

/**
 * `roots` and all their running descendants (`parents`: a reading of
 * {@linkcode parentPids}, to share one between several calls).
 */
export function processTree(
  roots: readonly number[],
  parents?: Map<number, number>,
): number[] {
  if (roots.length === 0) return [];
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents ?? parentPids()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const todo = [...roots];
  const seen = new Set<number>();
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Current and peak resident memory of a process, in bytes. */
export interface Memory {
  rss: number;
  hwm: number;
}

/** Reads VmRSS and VmHWM of `pid`; null when it is gone. */
export function readMemory(pid: number): Memory | null {
  let status: string;
  try {
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return null;
  }
  const kib = (field: string) =>
    Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  return { rss: kib("VmRSS") * 1024, hwm: kib("VmHWM") * 1024 };
}

/** CPU seconds a process used so far, in user and in kernel mode. */
export interface CpuTime {
  user: number;
  sys: number;
}

/** The CPU seconds `pid` used so far; null when it is gone. */
export function readCpuSeconds(pid: number): CpuTime | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // After "pid (comm) ": state ppid … utime (11th) stime (12th), in ticks.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const user = Number(fields[11]);
  const sys = Number(fields[12]);
  return Number.isFinite(user) && Number.isFinite(sys)
    ? { user: user / CLOCK_TICKS, sys: sys / CLOCK_TICKS }
    : null;
}

/** `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * Tracks the peak memory of named groups of processes ("src", "dst"): the
 * largest sum of current RSS over the group's trees seen in any sample, or
 * the largest single VmHWM if that is more (it covers peaks between samples).
 */
export class PeakMemory {
  #peaks = new Map<string, number>();
  /** Group → pid → CPU seconds at its last sample. */
  #cpu = new Map<string, Map<number, CpuTime>>();

  /** Takes one sample of each group's process trees. */
  sample(groups: Record<string, readonly number[]>): void {
    const parents = parentPids();
    for (const [name, roots] of Object.entries(groups)) {
      let sum = 0;
      let hwm = 0;
      let cpu = this.#cpu.get(name);
      if (cpu === undefined) this.#cpu.set(name, cpu = new Map());
      for (const pid of processTree(roots, parents)) {
        const seconds = readCpuSeconds(pid);
        if (seconds !== null) cpu.set(pid, seconds);
        const memory = readMemory(pid);
        if (memory === null) continue;
        sum += memory.rss;
        hwm = Math.max(hwm, memory.hwm);
      }
      const peak = Math.max(sum, hwm);
      if (peak > 0) {
        this.#peaks.set(name, Math.max(this.#peaks.get(name) ?? 0, peak));
      }
    }
  }

  /** CPU seconds group `name` used until its last sample, or null. */
  cpuSeconds(name: string): CpuTime | null {
    const cpu = this.#cpu.get(name);
    if (cpu === undefined || cpu.size === 0) return null;
    const sum = { user: 0, sys: 0 };
    for (const t of cpu.values()) {
      sum.user += t.user;
      sum.sys += t.sys;
    }
    return sum;
  }

  /** Peak bytes of group `name`, or null if it never had a live process. */
  peak(name: string): number | null {
    return this.#peaks.get(name) ?? null;
  }
}
