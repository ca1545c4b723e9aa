/**
 * What the benchmark needs from each sync tool: whether it can run here,
 * and a run that copies one folder to another, started at a known moment.
 * @module
 */
import type { ManagedProcess } from "./managed_process.ts";

/** One sync from `src` to `dst`, set up and ready to start. */
export interface SyncRun {
  /**
   * Spawns the processes the clock measures from (it starts just before).
   * One-shot tools run again on each call; continuous tools may be started
   * again after `close()`, with what they stored in their folders.
   */
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

/** A sync among several devices, one folder each, set up and ready to start. */
export interface GroupRun {
  /** Spawns every device's process (the clock starts just before). */
  start(): Promise<void>;
  /** Pids of each device's process, in device order. */
  pids(): number[][];
  failure(): string | null;
  lastLines(): string[];
  close(): Promise<void>;
}

/** Where one side runs: its address and the prefix that starts a process there. */
export interface Endpoint {
  readonly ip: string;
  readonly wrapper: readonly string[];
}

/** Both sides on this machine's loopback. */
export const LOOPBACK: Endpoint = { ip: "127.0.0.1", wrapper: [] };

/** A sync tool under test. */
export interface SyncTool {
  readonly name: string;
  /** False for one-shot tools (rsync): no save-to-peer latency. */
  readonly continuous: boolean;
  /** Null when it can run here, else why not ("not installed"). */
  unavailable(): Promise<string | null>;
  /**
   * Sets up a run; `work` is an empty scratch folder for its config and
   * logs; `sides` says where source and destination run (default loopback).
   */
  prepare(
    src: string,
    dst: string,
    work: string,
    sides?: readonly [Endpoint, Endpoint],
  ): Promise<SyncRun>;
  /**
   * Continuous tools: sets up one device per folder, device `i` at
   * `hosts[i]`, every device sharing its folder with all the others.
   */
  prepareGroup?(
    folders: readonly string[],
    work: string,
    hosts: readonly Endpoint[],
  ): Promise<GroupRun>;
}

/** A run of one long-lived process per device, each spawned by `spawn` at start. */
export function groupRun(
  count: number,
  spawn: (device: number) => ManagedProcess,
): GroupRun {
  const procs: ManagedProcess[] = [];
  return {
    /** Starts every device; after `close()`, starts them again. */
    start() {
      procs.length = 0;
      for (let i = 0; i < count; i++) procs.push(spawn(i));
      return Promise.resolve();
    },
    pids: () => procs.map((p) => [p.pid]),
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

/** A two-device group seen as a source (device 0) and a destination (1). */
export function pairOf(group: GroupRun): SyncRun {
  return {
    start: () => group.start(),
    pids: () => {
      const [src, dst] = group.pids();
      return { src: src ?? [], dst: dst ?? [] };
    },
    failure: () => group.failure(),
    lastLines: () => group.lastLines(),
    close: () => group.close(),
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
