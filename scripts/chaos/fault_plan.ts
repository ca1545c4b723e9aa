/**
 * When the chaos run hurts which peer, and how: SIGKILL then restart,
 * SIGSTOP then SIGCONT, or a cut network link then restore. Pure and
 * seeded like the operations. Each peer carries at most one fault at a
 * time and at least one peer is never faulted at any moment, so the mesh
 * always has a healthy member to hold the latest state.
 * @module
 */
import type { Rng } from "./rng.ts";

export const FAULT_KINDS = ["kill", "stop", "cut"] as const;
export type FaultKind = typeof FAULT_KINDS[number];

/** One fault: `peer` is hurt from `atMs` to `atMs + durationMs` (ms from the start of the run). */
export interface Fault {
  readonly kind: FaultKind;
  readonly peer: number;
  readonly atMs: number;
  readonly durationMs: number;
}

export interface FaultOptions {
  readonly peers: number;
  readonly durationMs: number;
  /** Kinds allowed here (no `cut` without network namespaces). */
  readonly kinds: readonly FaultKind[];
  /** Mean time between the starts of two faults, ms. */
  readonly meanGapMs: number;
}

/**
 * The faults of a run. Every fault ends before `durationMs`, and at every
 * moment fewer than `peers` peers are faulted (none with fewer than 2).
 */
export function planFaults(rng: Rng, options: FaultOptions): Fault[] {
  const out: Fault[] = [];
  if (options.peers < 2 || options.kinds.length === 0) return out;
  let at = rng.int(2_000, 6_000);
  // Bounded by count as well as by time.
  for (let i = 0; i < 1_000 && at < options.durationMs; i++) {
    const kind = rng.pick(options.kinds);
    const durationMs = kind === "cut"
      ? rng.int(2_000, 8_000)
      : rng.int(1_500, 5_000);
    const peer = rng.int(0, options.peers - 1);
    const end = at + durationMs;
    const busy = out.filter((f) => f.atMs < end && at < f.atMs + f.durationMs);
    const fits = end < options.durationMs &&
      !busy.some((f) => f.peer === peer) &&
      busy.length + 1 < options.peers;
    if (fits) out.push({ kind, peer, atMs: at, durationMs });
    at += rng.int(
      Math.round(options.meanGapMs / 2),
      Math.round(options.meanGapMs * 1.5),
    );
  }
  return out;
}
