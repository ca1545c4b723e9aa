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

/**
 * Tracks the peak memory of named groups of processes ("src", "dst"): the
 * largest sum of current RSS over the group's trees seen in any sample, or
 * the largest single VmHWM if that is more (it covers peaks between samples).
 */
export class PeakMemory {
  #peaks = new Map<string, number>();

  /** Takes one sample of each group's process trees. */
  sample(groups: Record<string, readonly number[]>): void {
    const parents = parentPids();
    for (const [name, roots] of Object.entries(groups)) {
      let sum = 0;
      let hwm = 0;
      for (const pid of processTree(roots, parents)) {
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

  /** Peak bytes of group `name`, or null if it never had a live process. */
  peak(name: string): number | null {
    return this.#peaks.get(name) ?? null;
  }
}
