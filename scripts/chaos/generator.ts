/**
 * Picks the chaos run's next operation from the seeded stream and a model
 * of the folder as the run means it to be (the tree every peer converges
 * to if sync were instant). Pure: the same seed gives the same operations
 * whatever the real folders hold, so a failing run can be replayed; where a
 * peer's real folder disagrees with the model (not synced yet, or synced
 * otherwise), the runner records what it found.
 *
 * Names are NFC, never ignored by dsync (`.part`, `.dsync`, `.dsyncignore`,
 * the default `.dsyncignore` patterns), never conflict-copy names, and no
 * two differ only by case.
 * @module
 */
import type { Rng } from "./rng.ts";

/** Kinds of operations, as journaled. */
export const OPERATION_KINDS = [
  "create",
  "empty",
  "overwrite",
  "append",
  "delete",
  "rename",
  "mkdir",
  "renameDir",
  "rmdir",
  "chmod",
  "concurrent",
] as const;
export type OperationKind = typeof OPERATION_KINDS[number];

/** How a write reaches the disk: in place (truncate, write) or as an editor's temp file renamed over the path. */
export type WriteMode = "in-place" | "atomic";

/** One write of a file: its token (undefined: an empty file) and payload size. */
export interface WriteSpec {
  readonly peer: number;
  readonly token: string | undefined;
  readonly size: number;
  readonly mode: WriteMode;
}

/** An operation the runner applies to one peer's folder (two for `concurrent`). */
export type Operation =
  | {
    kind: "create";
    path: string;
    write: WriteSpec;
    exec: boolean;
  }
  | { kind: "empty"; path: string; write: WriteSpec }
  | { kind: "overwrite"; path: string; write: WriteSpec }
  | { kind: "append"; peer: number; path: string; token: string }
  | { kind: "delete"; peer: number; path: string }
  | { kind: "rename"; peer: number; path: string; to: string }
  | { kind: "mkdir"; peer: number; path: string }
  | { kind: "renameDir"; peer: number; path: string; to: string }
  | { kind: "rmdir"; peer: number; path: string }
  | { kind: "chmod"; peer: number; path: string; exec: boolean }
  | {
    kind: "concurrent";
    path: string;
    /** The second write starts this long after the first. */
    delayMs: number;
    writes: readonly [WriteSpec, WriteSpec];
  };

/** An operation and how long after the previous one it starts. */
export interface PlannedOperation {
  readonly gapMs: number;
  readonly op: Operation;
}

/** The folder as the run means it: files (with exec bit) and folders. */
export interface Model {
  readonly peers: number;
  readonly seed: number;
  readonly files: ReadonlyMap<string, { readonly exec: boolean }>;
  readonly dirs: ReadonlySet<string>;
  /** Files deleted or renamed away, which a create may bring back. */
  readonly gone: readonly string[];
  /** Tokens and fresh names handed out so far. */
  readonly counter: number;
}

/** How often each kind is picked (relative weights). */
export type Weights = Readonly<Record<OperationKind, number>>;

export const DEFAULT_WEIGHTS: Weights = {
  create: 16,
  empty: 2,
  overwrite: 14,
  append: 8,
  delete: 6,
  rename: 6,
  mkdir: 4,
  renameDir: 2,
  rmdir: 2,
  chmod: 5,
  concurrent: 8,
};

/** Options of the generator. */
export interface GeneratorOptions {
  readonly weights: Weights;
  /** Mean pause between operations, ms. */
  readonly meanGapMs: number;
  /** Deepest folder nesting. */
  readonly maxDepth: number;
  /** Largest file, bytes. */
  readonly maxSize: number;
}

export const DEFAULT_OPTIONS: GeneratorOptions = {
  weights: DEFAULT_WEIGHTS,
  meanGapMs: 300,
  maxDepth: 3,
  maxSize: 5 * 1024 * 1024,
};

const FILE_WORDS = [
  "notes",
  "report",
  "caf\u00e9",
  "\u65e5\u672c",
  "\u{1f389}party",
  "\u0434\u0430\u043d\u043d\u044b\u0435",
  "\u00f1and\u00fa",
  "my file",
  "\ud55c\uae00",
  "data",
  "r\u00e9sum\u00e9",
] as const;
const EXTENSIONS = [".txt", ".md", ".bin", ".json", "", ".tar.gz", ".sh"];
const DIR_WORDS = [
  "docs",
  "photos",
  "\u65e5\u672c\u8a9e",
  "zeta \u00fc",
  "src",
  "\u{1f4c1}box",
  "archive",
] as const;

/** Names dsync ignores or gives a meaning to (checked again in tests). */
const FORBIDDEN = [
  /\.part$/,
  /(^|\/)\.dsync(ignore)?(\/|$)/,
  /\.sync-conflict-/,
  /\.tmp$/,
  /(^|\/)(\.git|node_modules|\.DS_Store)(\/|$)/,
];

/** True when `path` is a name the generator may create. */
export function isSafeName(path: string): boolean {
  return path.normalize("NFC") === path &&
    !FORBIDDEN.some((pattern) => pattern.test(path)) &&
    !path.split("/").some((seg) => seg === "" || seg.startsWith("."));
}

/** An empty folder model for `peers` peers. */
export function emptyModel(peers: number, seed: number): Model {
  return {
    peers,
    seed,
    files: new Map(),
    dirs: new Set(),
    gone: [],
    counter: 0,
  };
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut < 0 ? "" : path.slice(0, cut);
}

function depthOf(path: string): number {
  return path === "" ? 0 : path.split("/").length;
}

function within(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/** True when some file or folder of `model` has `path`'s name up to case. */
function clashes(model: Model, path: string): boolean {
  const key = path.toLowerCase();
  for (const p of model.files.keys()) if (p.toLowerCase() === key) return true;
  for (const p of model.dirs) if (p.toLowerCase() === key) return true;
  return false;
}

/** Draws a payload size: mostly small, sometimes large. */
export function pickSize(rng: Rng, maxSize: number): number {
  const r = rng.float();
  const size = r < 0.06
    ? 0
    : r < 0.75
    ? rng.int(1, 4096)
    : r < 0.94
    ? rng.int(4097, 256 * 1024)
    : r < 0.985
    ? rng.int(256 * 1024, 1024 * 1024)
    : rng.int(1024 * 1024, 5 * 1024 * 1024);
  return Math.min(size, maxSize);
}

function pickPeer(rng: Rng, model: Model, not?: number): number {
  const choices = Array.from({ length: model.peers }, (_, i) => i).filter((
    i,
  ) => i !== not);
  return rng.pick(choices);
}

/** A folder of the model (or the root, `""`) whose depth leaves room for one more level. */
function pickParent(rng: Rng, model: Model, maxDepth: number): string {
  const dirs = ["", ...model.dirs].filter((d) => depthOf(d) < maxDepth);
  return rng.pick(dirs);
}

function join(parent: string, name: string): string {
  return parent === "" ? name : `${parent}/${name}`;
}

/** Context for one draw: the stream, the model, and the next fresh number. */
interface Draw {
  readonly rng: Rng;
  readonly model: Model;
  readonly options: GeneratorOptions;
  counter: number;
}

function fresh(d: Draw): number {
  return d.counter++;
}

function token(d: Draw): string {
  return `${d.model.seed}-${fresh(d)}`;
}

/** A new file path: a fresh name, or (sometimes) a deleted one brought back. */
function newFilePath(d: Draw): string {
  const revivable = d.model.gone.filter((p) =>
    !clashes(d.model, p) &&
    (parentOf(p) === "" || d.model.dirs.has(parentOf(p)))
  );
  if (revivable.length > 0 && d.rng.chance(0.15)) {
    return d.rng.pick(revivable);
  }
  // A fresh number makes a clash all but impossible; bounded all the same.
  for (let i = 0;; i++) {
    const name = `${d.rng.pick(FILE_WORDS)}-${fresh(d)}${
      d.rng.pick(EXTENSIONS)
    }`;
    const path = join(pickParent(d.rng, d.model, d.options.maxDepth), name);
    if (!clashes(d.model, path) || i > 100) return path;
  }
}

function newDirPath(d: Draw, parent: string): string {
  for (let i = 0;; i++) {
    const path = join(parent, `${d.rng.pick(DIR_WORDS)}-${fresh(d)}`);
    if (!clashes(d.model, path) || i > 100) return path;
  }
}

function writeSpec(d: Draw, peer: number, small = false): WriteSpec {
  const size = pickSize(d.rng, d.options.maxSize);
  return {
    peer,
    token: token(d),
    size: small ? Math.min(size, 64 * 1024) : size,
    mode: d.rng.chance(0.5) ? "in-place" : "atomic",
  };
}

/** Deepest level below `dir` in the model (0: no subfolders). */
function heightOf(model: Model, dir: string): number {
  let height = 0;
  for (const d of model.dirs) {
    if (within(d, dir)) height = Math.max(height, depthOf(d) - depthOf(dir));
  }
  return height;
}

/** The kinds that can be drawn from `model` (e.g. no delete without files). */
function feasibleKinds(model: Model): Set<OperationKind> {
  const kinds = new Set<OperationKind>(["create", "empty", "mkdir"]);
  if (model.peers >= 2) kinds.add("concurrent");
  if (model.files.size > 0) {
    for (
      const k of ["overwrite", "append", "delete", "rename", "chmod"] as const
    ) kinds.add(k);
  }
  if (model.dirs.size > 0) {
    kinds.add("renameDir");
    kinds.add("rmdir");
  }
  return kinds;
}

/**
 * The next operation for `model` and the pause before it. Does not change
 * `model`; {@linkcode applyToModel} does that.
 */
export function nextOperation(
  rng: Rng,
  model: Model,
  options: GeneratorOptions = DEFAULT_OPTIONS,
): { planned: PlannedOperation; counter: number } {
  const d: Draw = { rng, model, options, counter: model.counter };
  const feasible = feasibleKinds(model);
  const weights = Object.fromEntries(
    OPERATION_KINDS.map((k) => [k, feasible.has(k) ? options.weights[k] : 0]),
  ) as Record<OperationKind, number>;
  const kind = rng.weighted(weights);
  const files = [...model.files.keys()];
  const dirs = [...model.dirs];
  let op: Operation;
  switch (kind) {
    case "create":
      op = {
        kind,
        path: newFilePath(d),
        write: writeSpec(d, pickPeer(rng, model)),
        exec: rng.chance(0.1),
      };
      break;
    case "empty":
      op = {
        kind,
        path: newFilePath(d),
        write: {
          peer: pickPeer(rng, model),
          token: undefined,
          size: 0,
          mode: "in-place",
        },
      };
      break;
    case "overwrite":
      op = {
        kind,
        path: rng.pick(files),
        write: writeSpec(d, pickPeer(rng, model)),
      };
      break;
    case "append":
      op = {
        kind,
        peer: pickPeer(rng, model),
        path: rng.pick(files),
        token: token(d),
      };
      break;
    case "delete":
      op = { kind, peer: pickPeer(rng, model), path: rng.pick(files) };
      break;
    case "rename": {
      const path = rng.pick(files);
      const name = path.slice(path.lastIndexOf("/") + 1);
      let to = "";
      for (let i = 0; i < 100; i++) {
        // Same folder (a new name) or another folder (same or new name).
        const parent = rng.chance(0.5)
          ? parentOf(path)
          : pickParent(rng, model, options.maxDepth);
        to = join(
          parent,
          rng.chance(0.5) && parent !== parentOf(path)
            ? name
            : `${rng.pick(FILE_WORDS)}-${fresh(d)}${rng.pick(EXTENSIONS)}`,
        );
        if (to !== path && !clashes(model, to)) break;
        to = "";
      }
      if (to === "") to = join(parentOf(path), `moved-${fresh(d)}`);
      op = { kind, peer: pickPeer(rng, model), path, to };
      break;
    }
    case "mkdir":
      op = {
        kind,
        peer: pickPeer(rng, model),
        path: newDirPath(d, pickParent(rng, model, options.maxDepth)),
      };
      break;
    case "renameDir": {
      const path = rng.pick(dirs);
      const height = heightOf(model, path);
      const parents = ["", ...model.dirs].filter((p) =>
        !within(p, path) && depthOf(p) + 1 + height <= options.maxDepth
      );
      const parent = parents.length === 0 ? "" : rng.pick(parents);
      op = {
        kind,
        peer: pickPeer(rng, model),
        path,
        to: newDirPath(d, parent),
      };
      break;
    }
    case "rmdir":
      op = { kind, peer: pickPeer(rng, model), path: rng.pick(dirs) };
      break;
    case "chmod": {
      const path = rng.pick(files);
      op = {
        kind,
        peer: pickPeer(rng, model),
        path,
        exec: !model.files.get(path)!.exec,
      };
      break;
    }
    case "concurrent": {
      const path = files.length > 0 && rng.chance(0.6)
        ? rng.pick(files)
        : newFilePath(d);
      const first = pickPeer(rng, model);
      const second = pickPeer(rng, model, first);
      op = {
        kind,
        path,
        delayMs: rng.int(0, 150),
        writes: [writeSpec(d, first, true), writeSpec(d, second, true)],
      };
      break;
    }
  }
  // Roughly exponential pauses, capped: bursts and lulls, a few per second.
  const gapMs = Math.min(
    Math.round(-Math.log(1 - rng.float()) * options.meanGapMs),
    options.meanGapMs * 6,
  );
  return { planned: { gapMs, op }, counter: d.counter };
}

/** The model after `op` (given the fresh-name counter after drawing it). */
export function applyToModel(
  model: Model,
  op: Operation,
  counter: number,
): Model {
  const files = new Map(model.files);
  const dirs = new Set(model.dirs);
  let gone = model.gone.slice();
  const addParents = (path: string) => {
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) dirs.add(p);
  };
  const born = (path: string) => {
    gone = gone.filter((g) => g !== path);
    addParents(path);
  };
  switch (op.kind) {
    case "create":
      files.set(op.path, { exec: op.exec });
      born(op.path);
      break;
    case "empty":
    case "concurrent":
      files.set(op.path, files.get(op.path) ?? { exec: false });
      born(op.path);
      break;
    case "overwrite":
    case "append":
      break;
    case "chmod":
      files.set(op.path, { exec: op.exec });
      break;
    case "delete":
      files.delete(op.path);
      gone.push(op.path);
      break;
    case "rename":
      files.set(op.to, files.get(op.path) ?? { exec: false });
      files.delete(op.path);
      gone.push(op.path);
      born(op.to);
      break;
    case "mkdir":
      dirs.add(op.path);
      addParents(op.path);
      break;
    case "renameDir":
    case "rmdir": {
      const moved = (p: string) =>
        op.kind === "renameDir" ? op.to + p.slice(op.path.length) : undefined;
      for (const [p, f] of model.files) {
        if (!within(p, op.path)) continue;
        files.delete(p);
        gone.push(p);
        const to = moved(p);
        if (to !== undefined) files.set(to, f);
      }
      for (const p of model.dirs) {
        if (!within(p, op.path)) continue;
        dirs.delete(p);
        const to = moved(p);
        if (to !== undefined) dirs.add(to);
      }
      if (op.kind === "renameDir") addParents(op.to);
      break;
    }
  }
  // Names in use are not gone; keep the list short.
  gone = gone.filter((g) => !files.has(g)).slice(-50);
  return { ...model, files, dirs, gone, counter };
}

/** Every operation of a run of `durationMs`, from the seeded stream. */
export function planOperations(
  rng: Rng,
  model: Model,
  durationMs: number,
  options: GeneratorOptions = DEFAULT_OPTIONS,
): PlannedOperation[] {
  const out: PlannedOperation[] = [];
  let at = 0;
  // Bounded in count as well as time (a few per second at most).
  const limit = Math.ceil(durationMs / 10) + 10;
  while (out.length < limit) {
    const { planned, counter } = nextOperation(rng, model, options);
    at += planned.gapMs;
    if (at > durationMs) break;
    out.push(planned);
    model = applyToModel(model, planned.op, counter);
  }
  return out;
}

/** The peers an operation is applied on. */
export function peersOf(op: Operation): number[] {
  switch (op.kind) {
    case "create":
    case "empty":
    case "overwrite":
      return [op.write.peer];
    case "concurrent":
      return op.writes.map((w) => w.peer);
    default:
      return [op.peer];
  }
}
