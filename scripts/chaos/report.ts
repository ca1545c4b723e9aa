/**
 * The text a chaos run prints at its end: operations by kind, faults,
 * time to quiescence, PASS/FAIL, and for a failure each problem with the
 * journal of the paths it concerns. Pure: it formats, the CLI prints.
 * @module
 */
import type { Problem } from "./checks.ts";
import {
  formatEntry,
  formatFault,
  type JournalEntry,
  sliceFor,
} from "./journal.ts";
import type { RunResult } from "./runner.ts";

/** Enough for every operation on a path in runs of several minutes. */
const MAX_SLICE = 1_000;

/** Count of entries by kind, split by outcome: `create 12 (2 skipped)`. */
export function opsByKind(entries: readonly JournalEntry[]): string {
  const counts = new Map<string, { done: number; other: number }>();
  for (const e of entries) {
    const c = counts.get(e.kind) ?? { done: 0, other: 0 };
    if (e.outcome === "done") c.done++;
    else c.other++;
    counts.set(e.kind, c);
  }
  return [...counts].sort(([a], [b]) => a < b ? -1 : 1).map(([kind, c]) =>
    `${kind} ${c.done}${c.other === 0 ? "" : ` (+${c.other} skipped)`}`
  ).join(", ");
}

/** The journal lines of each path a problem names, once per path. */
export function journalSlices(
  problems: readonly Problem[],
  entries: readonly JournalEntry[],
): string[] {
  const lines: string[] = [];
  const done = new Set<string>();
  for (const problem of problems) {
    for (const path of problem.paths) {
      if (done.has(path)) continue;
      done.add(path);
      const slice = sliceFor(entries, path).sort((a, b) => a.t - b.t);
      lines.push(`journal of ${JSON.stringify(path)} (${slice.length} ops):`);
      for (const e of slice.slice(-MAX_SLICE)) {
        lines.push(`  ${formatEntry(e)}`);
      }
    }
  }
  return lines;
}

/** The summary of a run, ending in PASS or FAIL. */
export function summarize(seed: number, result: RunResult): string[] {
  const faults = new Map<string, number>();
  for (const f of result.journal.faults) {
    faults.set(f.kind, (faults.get(f.kind) ?? 0) + 1);
  }
  const lines = [
    `chaos: operations: ${opsByKind(result.entries) || "none"}`,
    `chaos: faults injected: ${
      [...faults].map(([k, n]) => `${k} ${n}`).join(", ") || "none"
    }${
      result.noCuts === undefined
        ? ""
        : ` (link cuts skipped: ${result.noCuts})`
    }`,
    `chaos: time to quiescence: ${
      result.aborted
        ? "not measured (interrupted)"
        : result.quiescenceMs === undefined
        ? "never (did not settle)"
        : `${(result.quiescenceMs / 1000).toFixed(1)} s`
    }${
      result.holdsAccepted > 0
        ? ` (${result.holdsAccepted} mass-delete hold${
          result.holdsAccepted === 1 ? "" : "s"
        } accepted)`
        : ""
    }`,
  ];
  if (result.aborted) {
    lines.push(`chaos: ABORTED (seed ${seed})`);
    return lines;
  }
  if (result.passed) {
    lines.push(`chaos: PASS (seed ${seed})`);
    return lines;
  }
  lines.push(
    `chaos: FAIL (seed ${seed}): ${result.problems.length} problem(s)`,
  );
  for (const p of result.problems) lines.push(`  [${p.kind}] ${p.message}`);
  lines.push(...journalSlices(result.problems, result.entries));
  lines.push("faults:");
  for (const f of result.journal.faults) lines.push(`  ${formatFault(f)}`);
  for (const [peer, tail] of result.tails) {
    lines.push(`--- last log lines of ${peer} ---`, tail);
  }
  if (result.keptAt !== undefined) {
    lines.push(
      `chaos: folders kept at ${result.keptAt} (each peer's whole log in <name>.log there)`,
    );
  }
  lines.push(`chaos: FAIL (seed ${seed})`);
  return lines;
}
