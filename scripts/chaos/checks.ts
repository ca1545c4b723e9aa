/**
 * What a chaos run must show at the end, judged from its journal and the
 * final tree of each peer. Pure, so each rule is table-tested with made-up
 * journals. Every rule errs on the side of silence: an outcome dsync's
 * promises allow (an edit concurrent with a delete wins, the loser of two
 * concurrent edits becomes a conflict copy) is never reported.
 * @module
 */
import type { FaultRecord, JournalEntry } from "./journal.ts";
import { touches } from "./journal.ts";

/** A file as found at the end: exec bit, size, content hash, tokens in it. */
export interface FileEntry {
  readonly kind: "file";
  readonly exec: boolean;
  readonly size: number;
  readonly hash: string;
  readonly tokens: readonly string[];
}

/** What a path of a final tree holds. */
export type TreeEntry =
  | FileEntry
  | { readonly kind: "dir" }
  | { readonly kind: "link"; readonly target: string };

/** A peer's folder at the end (without `.dsync/` and `.dsyncignore`), by NFC path. */
export type Tree = ReadonlyMap<string, TreeEntry>;

export type ProblemKind =
  | "diverged"
  | "part-file"
  | "lost-write"
  | "resurrected"
  | "chmod-lost"
  | "crash";

/** One thing wrong, with the paths whose journal explains it. */
export interface Problem {
  readonly kind: ProblemKind;
  readonly message: string;
  readonly paths: readonly string[];
}

export interface CheckInput {
  readonly entries: readonly JournalEntry[];
  readonly faults: readonly FaultRecord[];
  /** Final tree of each peer, by peer name. */
  readonly trees: ReadonlyMap<string, Tree>;
  /** How far back an operation on another peer counts as concurrent, ms. */
  readonly windowMs?: number;
}

/** Default window of concurrency (generous: faults delay sync by seconds). */
export const CONCURRENCY_WINDOW_MS = 10_000;

/** A short text for a tree entry, equal for equal entries. */
export function describeEntry(e: TreeEntry | undefined): string {
  if (e === undefined) return "absent";
  switch (e.kind) {
    case "dir":
      return "dir";
    case "link":
      return `link:${e.target}`;
    case "file":
      return `file exec=${e.exec} ${e.size}B ${e.hash.slice(0, 12)} [${
        e.tokens.join(",")
      }]`;
  }
}

/** Whether every tree holds the same paths with the same contents and exec bits. */
export function treesIdentical(trees: readonly Tree[]): boolean {
  return divergedPaths(trees).length === 0;
}

/** Paths on which the trees disagree, sorted. */
export function divergedPaths(trees: readonly Tree[]): string[] {
  const paths = new Set<string>();
  for (const tree of trees) for (const p of tree.keys()) paths.add(p);
  return [...paths].filter((p) => {
    const first = describeEntry(trees[0]?.get(p));
    return trees.some((t) => describeEntry(t.get(p)) !== first);
  }).sort();
}

function checkDiverged(trees: ReadonlyMap<string, Tree>): Problem[] {
  const names = [...trees.keys()];
  const list = [...trees.values()];
  return divergedPaths(list).map((path) => ({
    kind: "diverged",
    message: `trees differ at ${JSON.stringify(path)}: ${
      names.map((n, i) => `${n}: ${describeEntry(list[i]!.get(path))}`).join(
        "; ",
      )
    }`,
    paths: [path],
  }));
}

function checkPartFiles(trees: ReadonlyMap<string, Tree>): Problem[] {
  const holders = new Map<string, string[]>();
  for (const [peer, tree] of trees) {
    for (const path of tree.keys()) {
      if (path.endsWith(".part")) {
        holders.set(path, [...(holders.get(path) ?? []), peer]);
      }
    }
  }
  return [...holders].map(([path, peers]) => ({
    kind: "part-file",
    message: `.part file left: ${JSON.stringify(path)} on ${peers.join(", ")}`,
    paths: [path],
  }));
}

/** Token → paths holding it, for one tree. */
function tokenIndex(tree: Tree): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const [path, entry] of tree) {
    if (entry.kind !== "file") continue;
    for (const token of entry.tokens) {
      const paths = index.get(token) ?? [];
      paths.push(path);
      index.set(token, paths);
    }
  }
  return index;
}

function checkLostWrites(input: CheckInput): Problem[] {
  const replaced = new Set(input.entries.flatMap((e) => e.replaced));
  const indexes = [...input.trees].map(([peer, tree]) =>
    [peer, tokenIndex(tree)] as const
  );
  const out: Problem[] = [];
  for (const entry of input.entries) {
    const token = entry.token;
    if (token === undefined || entry.outcome !== "done") continue;
    if (replaced.has(token)) continue;
    const missingOn = indexes.filter(([, idx]) => !idx.has(token)).map((
      [peer],
    ) => peer);
    if (missingOn.length === 0) continue;
    const wherever = new Set([entry.path]);
    for (const e of input.entries) {
      for (const s of e.seen) {
        if (s.tokens.includes(token)) wherever.add(s.path);
      }
    }
    out.push({
      kind: "lost-write",
      message: `lost write: token ${token} (${entry.kind} of ${
        JSON.stringify(entry.path)
      } on ${entry.peer} at ${(entry.t / 1000).toFixed(3)}s) is in no file on ${
        missingOn.join(", ")
      }; no operation replaced it`,
      paths: [...wherever],
    });
  }
  return out;
}

/**
 * Whether `other` may legitimately undo or outlive `op` at `path`: it acts
 * there within the window before `op` or any time after (except a write
 * whose token `op` saw: that one `op` knew), or it wrote a
 * token `op` never saw that was still live, or it ran on another peer
 * across a fault (so what `op`'s peer knew of it is unknown).
 */
function mayRaceWith(
  op: JournalEntry,
  other: JournalEntry,
  path: string,
  input: CheckInput,
  liveBefore: (token: string, t: number) => boolean,
): boolean {
  if (other.seq === op.seq || !touches(other, path)) return false;
  const seenByOp = new Set(op.seen.flatMap((s) => s.tokens));
  // A write `op` saw had reached its peer: it happened before, not beside
  // (unless it set the exec bit afterwards, a second change `op` may not
  // have seen).
  if (
    other.t < op.t && other.token !== undefined &&
    seenByOp.has(other.token) && other.exec !== true
  ) return false;
  const windowMs = input.windowMs ?? CONCURRENCY_WINDOW_MS;
  if (other.t >= op.t - windowMs) return true;
  if (
    other.token !== undefined && !seenByOp.has(other.token) &&
    liveBefore(other.token, op.t)
  ) return true;
  if (other.peer === op.peer) return false;
  return input.faults.some((f) =>
    (f.peer === other.peer || f.peer === op.peer) && f.t < op.tEnd &&
    f.tEnd > other.t
  );
}

function liveness(entries: readonly JournalEntry[]) {
  const replacedAt = new Map<string, number>();
  for (const e of entries) {
    for (const token of e.replaced) {
      replacedAt.set(token, Math.min(replacedAt.get(token) ?? Infinity, e.t));
    }
  }
  return (token: string, t: number) => (replacedAt.get(token) ?? Infinity) > t;
}

function checkResurrected(input: CheckInput): Problem[] {
  const live = liveness(input.entries);
  const out: Problem[] = [];
  for (const del of input.entries) {
    if (del.kind !== "delete" && del.kind !== "rmdir") continue;
    if (del.outcome !== "done") continue;
    for (const seen of del.seen) {
      if (seen.tokens.length === 0) continue;
      const raced = input.entries.some((e) =>
        mayRaceWith(del, e, seen.path, input, live)
      );
      if (raced) continue;
      const backOn = [...input.trees].flatMap(([peer, tree]) => {
        const now = tree.get(seen.path);
        if (now?.kind !== "file") return [];
        const back = now.tokens.filter((t) => seen.tokens.includes(t));
        return back.length === 0 ? [] : [`${peer} [${back.join(",")}]`];
      });
      if (backOn.length === 0) continue;
      out.push({
        kind: "resurrected",
        message: `deleted content is back at ${JSON.stringify(seen.path)} on ${
          backOn.join(", ")
        }: ${del.kind} #${del.seq} on ${del.peer} at ${
          (del.t / 1000).toFixed(3)
        }s deleted it, and nothing else acted on that path near or after it`,
        paths: [seen.path],
      });
    }
  }
  return out;
}

function checkChmods(input: CheckInput): Problem[] {
  const live = liveness(input.entries);
  const out: Problem[] = [];
  for (const chmod of input.entries) {
    if (chmod.kind !== "chmod" || chmod.outcome !== "done") continue;
    const seen = chmod.seen[0];
    if (seen === undefined || seen.tokens.length === 0) continue;
    if (chmod.exec === undefined) continue;
    const raced = input.entries.some((e) =>
      mayRaceWith(chmod, e, chmod.path, input, live)
    );
    if (raced) continue;
    const wrongOn = [...input.trees].flatMap(([peer, tree]) => {
      const now = tree.get(chmod.path);
      if (now?.kind !== "file") return [];
      const same = now.tokens.length === seen.tokens.length &&
        now.tokens.every((t, i) => t === seen.tokens[i]);
      return same && now.exec !== chmod.exec ? [peer] : [];
    });
    if (wrongOn.length === 0) continue;
    out.push({
      kind: "chmod-lost",
      message: `chmod lost: ${JSON.stringify(chmod.path)} has exec=${!chmod
        .exec} on ${
        wrongOn.join(", ")
      }, but chmod #${chmod.seq} on ${chmod.peer} at ${
        (chmod.t / 1000).toFixed(3)
      }s set exec=${chmod.exec} on this very content and nothing else acted on it`,
      paths: [chmod.path],
    });
  }
  return out;
}

/** Every problem of a finished run, in a stable order. */
export function checkRun(input: CheckInput): Problem[] {
  return [
    ...checkDiverged(input.trees),
    ...checkPartFiles(input.trees),
    ...checkLostWrites(input),
    ...checkResurrected(input),
    ...checkChmods(input),
  ];
}

const CRASH_LINE = /Uncaught|panicked at|^error: |^\s+at .+:\d+:\d+\)?$/;

/** Lines of a peer's output that say it crashed (a stack trace, an uncaught error, a panic). */
export function logProblems(peer: string, output: string): Problem[] {
  const lines = output.split("\n").filter((line) => CRASH_LINE.test(line));
  if (lines.length === 0) return [];
  return [{
    kind: "crash",
    message: `${peer} printed ${lines.length} crash line(s), first: ${
      lines[0]!.trim()
    }`,
    paths: [],
  }];
}
