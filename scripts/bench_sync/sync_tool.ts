/**
 * What the benchmark needs from each sync tool: whether it can run here,
 * and a run that copies one folder to another, started at a known moment.
 * @module
 */
import type { ManagedProcess } from "./managed_process.ts";

/** One sync from `src` to `dst`, set up and ready to start. */
export interface SyncRun {
  /** Spawns the processes the clock measures from (it starts just before). */
  start(): Promise<void>;
  /** Pids of the processes (with their children) on each side. */
  pids(): { src: number[]; dst: number[] };
  /** Why the sync can no longer finish (a process died), or null. */
  failure(): string | null;
  /** The last line each process wrote, "name: line", for a report of why it failed. */
  lastLines(): string[];
  /** Stops every process of the run; safe to call more than once. */
  close(): Promise<void>;
}

/** A sync tool under test. */
export interface SyncTool {
  readonly name: string;
  /** False for one-shot tools (rsync): no save-to-peer latency. */
  readonly continuous: boolean;
  /** Null when it can run here, else why not ("not installed"). */
  unavailable(): Promise<string | null>;
  /** Sets up a run; `work` is an empty scratch folder for its config and logs. */
  prepare(src: string, dst: string, work: string): Promise<SyncRun>;
}

/**
 * A run of two long-lived processes, a source side (`side` 0) and a
 * destination side (1), each spawned by `spawn` when the run starts.
 */
export function pairRun(
  spawn: (side: 0 | 1) => ManagedProcess,
): SyncRun {
  const procs: ManagedProcess[] = [];
  return {
    start() {
      procs.push(spawn(0), spawn(1));
      return Promise.resolve();
    },
    pids: () => ({
      src: procs[0] ? [procs[0].pid] : [],
      dst: procs[1] ? [procs[1].pid] : [],
    }),
    lastLines: () => procs.map((p) => `${p.name}: ${p.lastLine()}`),
    failure() {
      const dead = procs.find((p) => p.status !== null);
      return dead ? dead.describeExit() : null;
    },
    async close() {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}

/** Null if `command --version` runs, else "not installed". */
export async function commandMissing(command: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(command, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : `${command} --version failed`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "not installed";
    throw error;
  }
}

/** Free TCP ports on 127.0.0.1, distinct from each other. */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (performance.now() > deadline) {
        throw new Error(
          `Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
