/**
 * The record of a chaos run: every operation applied to a folder (when, on
 * which peer, which paths, the token it wrote, the tokens it saw and
 * replaced) and every fault. The checks judge the final trees against it,
 * and a failure prints the part of it that concerns each failing path.
 * @module
 */
import type { OperationKind, WriteMode } from "./generator.ts";
import type { FaultKind } from "./fault_plan.ts";

/** The tokens found in one file when an operation looked at it. */
export interface SeenFile {
  readonly path: string;
  readonly tokens: readonly string[];
}

/**
 * How an operation went: `done`; `skipped` (nothing to act on in that
 * peer's folder, e.g. the file was not there yet); `orphaned` (an in-place
 * write that landed in a file dsync had meanwhile replaced, so it never
 * was in the tree).
 */
export type Outcome = "done" | "skipped" | "orphaned";

/** One operation as applied to one peer's folder. */
export interface JournalEntry {
  /** Order of application (unique). */
  readonly seq: number;
  /** Index of the planned operation (the two writes of `concurrent` share it). */
  readonly opIndex: number;
  readonly kind: OperationKind;
  readonly peer: string;
  /** Start and end, ms since the start of the run. */
  readonly t: number;
  readonly tEnd: number;
  readonly path: string;
  /** Destination of a rename. */
  readonly to?: string;
  /** The token this operation wrote (absent: it wrote none). */
  readonly token?: string;
  readonly mode?: WriteMode;
  readonly size?: number;
  readonly exec?: boolean;
  /** What was at the path(s) just before (for a rename: after, at the destination). */
  readonly seen: readonly SeenFile[];
  /** Tokens this operation removed from the tree (overwritten or deleted). */
  readonly replaced: readonly string[];
  readonly outcome: Outcome;
  /** Why skipped, or anything else worth reading. */
  readonly note?: string;
  /** The state of the peer's process or link at the time. */
  readonly peerState: string;
}

/** One fault as injected. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly peer: string;
  /** Start and end (undone), ms since the start of the run. */
  readonly t: number;
  readonly tEnd: number;
}

/** Every path an entry names (its path and destination). */
export function pathsOf(entry: JournalEntry): string[] {
  return entry.to === undefined ? [entry.path] : [entry.path, entry.to];
}

function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** True when `entry` acts on `path`, a folder holding it, or something in it. */
export function touches(entry: JournalEntry, path: string): boolean {
  return pathsOf(entry).some((p) => related(p, path)) ||
    entry.seen.some((s) => s.path === path);
}

/** The entries that act on `path` (see {@linkcode touches}), in order. */
export function sliceFor(
  entries: readonly JournalEntry[],
  path: string,
): JournalEntry[] {
  return entries.filter((e) => touches(e, path));
}

/** One line for a person reading a failure. */
export function formatEntry(e: JournalEntry): string {
  const ms = (t: number) => (t / 1000).toFixed(3).padStart(8);
  const seen = e.seen.length === 0
    ? "-"
    : e.seen.map((s) => `${s.path}=[${s.tokens.join(",")}]`).join(" ");
  return [
    `${ms(e.t)}s #${e.seq} op${e.opIndex} ${e.peer}(${e.peerState}) ${e.kind}`,
    JSON.stringify(e.path) +
    (e.to === undefined ? "" : ` -> ${JSON.stringify(e.to)}`),
    e.token === undefined ? "" : `wrote ${e.token}`,
    e.mode === undefined ? "" : e.mode,
    e.size === undefined ? "" : `${e.size}B`,
    e.exec === undefined ? "" : `exec=${e.exec}`,
    `saw ${seen}`,
    e.replaced.length === 0 ? "" : `replaced [${e.replaced.join(",")}]`,
    e.outcome === "done" ? "" : e.outcome,
    e.note ?? "",
    `(${(e.tEnd - e.t).toFixed(0)} ms)`,
  ].filter((s) => s !== "").join(" ");
}

/** One line per fault. */
export function formatFault(f: FaultRecord): string {
  return `${(f.t / 1000).toFixed(3).padStart(8)}s..${
    (f.tEnd / 1000).toFixed(3)
  }s ${f.kind} ${f.peer}`;
}

/** An append-only journal with its clock. */
export class Journal {
  readonly entries: JournalEntry[] = [];
  readonly faults: FaultRecord[] = [];
  readonly #start: number;

  constructor(start = performance.now()) {
    this.#start = start;
  }

  /** ms since the start of the run. */
  now(): number {
    return performance.now() - this.#start;
  }

  record(entry: Omit<JournalEntry, "seq">): JournalEntry {
    const full = { ...entry, seq: this.entries.length } as JournalEntry;
    this.entries.push(full);
    return full;
  }

  recordFault(fault: FaultRecord): void {
    this.faults.push(fault);
  }
}
