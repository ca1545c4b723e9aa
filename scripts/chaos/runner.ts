/**
 * Runs one chaos run end to end: starts the peers, applies the planned
 * operations and faults on schedule, undoes every fault, waits for the
 * folders to settle, reads the final trees and judges them. Everything it
 * creates (processes, namespaces, temp folders) is removed at the end,
 * except the folders of a failed run, kept for a person to look at.
 * @module
 */
import { isolatedEnv } from "../../tests/e2e/_dsync.ts";
import {
  applyAppend,
  applyChmod,
  applyDelete,
  applyMkdir,
  applyRename,
  applyWrite,
  type Effect,
  type Place,
} from "./apply.ts";
import {
  checkRun,
  describeEntry,
  logProblems,
  type Problem,
  type Tree,
  treesIdentical,
} from "./checks.ts";
import { type Fault, planFaults } from "./fault_plan.ts";
import {
  DEFAULT_OPTIONS,
  emptyModel,
  type Operation,
  type PlannedOperation,
  planOperations,
  type WriteSpec,
} from "./generator.ts";
import { Journal, type JournalEntry } from "./journal.ts";
import { makeNetwork, type Network } from "./network.ts";
import { HoldTracker } from "./delete_holds.ts";
import { PeerProcess } from "./peer_process.ts";
import { Rng } from "./rng.ts";
import { readTree } from "./tree.ts";

export const PEER_NAMES = [
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
] as const;

export interface RunOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly peers: number;
  /** Weight of near-simultaneous writes among the operations. */
  readonly concurrentWeight: number;
  /** How long to wait for the folders to agree after the faults end. */
  readonly quiesceTimeoutMs: number;
  /** How long they must stay identical to count as settled. */
  readonly stableMs: number;
  /** Where progress lines go. */
  readonly log: (line: string) => void;
  /** Ends the run early (Ctrl-C): faults are undone and everything removed. */
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly passed: boolean;
  readonly aborted: boolean;
  readonly problems: readonly Problem[];
  readonly plannedOps: number;
  readonly entries: readonly JournalEntry[];
  readonly journal: Journal;
  readonly faultsPlanned: readonly Fault[];
  /** Why link cuts were skipped (undefined: they ran). */
  readonly noCuts: string | undefined;
  /** ms from the end of the faults until the folders settled (undefined: never). */
  readonly quiescenceMs: number | undefined;
  /** The run's temp folder, or undefined when removed. */
  readonly keptAt: string | undefined;
  /** Last log lines of each peer, by name. */
  readonly tails: ReadonlyMap<string, string>;
  /** Mass-delete holds the run accepted as the user, while settling. */
  readonly holdsAccepted: number;
}

const CONNECT_TIMEOUT_MS = 60_000;
const POLL_MS = 500;
/** Most holds accepted in one run (each is a user's confirmation). */
const MAX_HOLDS_ACCEPTED = 50;
const COMMAND_TIMEOUT_MS = 30_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The same tree as text, for "did anything move" comparisons. */
function signature(tree: Tree): string {
  return [...tree.keys()].sort().map((p) =>
    `${p}\t${describeEntry(tree.get(p))}`
  ).join("\n");
}

/** What the run plans for `options`: the operations and the faults. Pure. */
export function planRun(options: {
  seed: number;
  durationMs: number;
  peers: number;
  concurrentWeight: number;
}): { ops: PlannedOperation[]; faults: Fault[] } {
  const root = new Rng(options.seed);
  const opsRng = root.fork(1);
  const faultRng = root.fork(2);
  const ops = planOperations(
    opsRng,
    emptyModel(options.peers, options.seed),
    options.durationMs,
    {
      ...DEFAULT_OPTIONS,
      weights: {
        ...DEFAULT_OPTIONS.weights,
        concurrent: options.concurrentWeight,
      },
    },
  );
  const faults = planFaults(faultRng, {
    peers: options.peers,
    durationMs: options.durationMs,
    kinds: ["kill", "stop", "cut"],
    meanGapMs: 9_000,
  });
  return { ops, faults };
}

/** Runs a whole chaos run; never throws for what it finds, only for broken setup. */
export async function runChaos(options: RunOptions): Promise<RunResult> {
  const names = PEER_NAMES.slice(0, options.peers);
  const { ops, faults } = planRun(options);
  const root = await Deno.makeTempDir({ prefix: "dsync_chaos_" });
  let network: Network | undefined;
  const peers: PeerProcess[] = [];
  let keep = false;
  try {
    network = await makeNetwork(names);
    if (network.noCuts !== undefined) {
      options.log(`chaos: link cuts skipped: ${network.noCuts}`);
    }
    await Deno.mkdir(`${root}/home`);
    const places: Place[] = [];
    for (const name of names) {
      const place = {
        dir: `${root}/${name}`,
        scratch: `${root}/.${name}-scratch`,
      };
      await Deno.mkdir(place.dir);
      await Deno.mkdir(place.scratch);
      places.push(place);
    }
    const env = isolatedEnv(`${root}/home`);
    names.forEach((name, i) => {
      const dial = names.flatMap((_, j) =>
        j === i ? [] : ["-a", network!.address(j)]
      );
      peers.push(
        new PeerProcess(
          name,
          [
            "-d",
            places[i]!.dir,
            "-p",
            String(network!.port(i)),
            "-n",
            name,
            "--no-discovery",
            // Every pull and local change in the kept logs of a failed run.
            "-v",
            ...dial,
          ],
          env,
          network!.wrapper(i),
        ),
      );
    });
    for (const peer of peers) peer.start();
    for (const [i, peer] of peers.entries()) {
      await peer.waitForOutput(/Indexed /, CONNECT_TIMEOUT_MS, options.signal);
      for (const [j, other] of peers.entries()) {
        if (i === j) continue;
        await peer.waitForOutput(
          new RegExp(`Peer "?${other.name}"? .* connected`),
          CONNECT_TIMEOUT_MS,
          options.signal,
        );
      }
    }
    options.log(
      `chaos: ${peers.length} peers connected (${
        network.noCuts === undefined ? "network namespaces" : "loopback"
      }), ${ops.length} operations and ${faults.length} faults planned`,
    );

    const journal = new Journal();
    const state: string[] = names.map(() => "up");
    const result = await runSchedule({
      ops,
      faults,
      journal,
      places,
      peers,
      network,
      state,
      names,
      options,
    });
    const aborted = options.signal?.aborted ?? false;

    // Quiescence: every fault is undone by now; wait for agreement.
    let quiescenceMs: number | undefined;
    let trees: Tree[] = [];
    let holdsAccepted = 0;
    if (!aborted) {
      options.log(
        `chaos: ${result.applied} operations applied; waiting for the folders to agree`,
      );
      const settled = await quiesce(places, peers, options);
      quiescenceMs = settled.ms;
      trees = settled.trees;
      holdsAccepted = settled.holdsAccepted;
    }
    const problems: Problem[] = aborted ? [] : checkRun({
      entries: journal.entries,
      faults: journal.faults,
      trees: new Map(names.map((n, i) => [n, trees[i]!])),
    });
    if (!aborted && quiescenceMs === undefined) {
      problems.unshift({
        kind: "diverged",
        message: `folders did not settle within ${
          options.quiesceTimeoutMs / 1000
        } s`,
        paths: [],
      });
    }
    for (const peer of peers) {
      if (!aborted && !peer.running) {
        problems.push({
          kind: "crash",
          message: `${peer.name} is not running at the end`,
          paths: [],
        });
      }
      for (const exit of peer.unexpectedExits()) {
        problems.push({ kind: "crash", message: exit, paths: [] });
      }
    }
    const tails = new Map<string, string>();
    for (const peer of peers) {
      const code = await peer.stop();
      if (code !== 0 && code !== undefined && !aborted) {
        options.log(`chaos: note: ${peer.name} exited ${code} on SIGTERM`);
      }
      problems.push(...logProblems(peer.name, peer.output));
      tails.set(peer.name, peer.tail(40));
    }
    const passed = !aborted && problems.length === 0;
    keep = !passed && !aborted;
    if (keep) {
      // The whole story of each peer, for whoever looks into the failure.
      for (const peer of peers) {
        await Deno.writeTextFile(`${root}/${peer.name}.log`, peer.output)
          .catch(() => {});
      }
    }
    return {
      passed,
      aborted,
      problems,
      plannedOps: ops.length,
      entries: journal.entries,
      journal,
      faultsPlanned: faults,
      noCuts: network.noCuts,
      quiescenceMs,
      keptAt: keep ? root : undefined,
      tails,
      holdsAccepted,
    };
  } catch (err) {
    if (!options.signal?.aborted) {
      keep = true;
      options.log(`chaos: run broke; its folders are kept at ${root}`);
    }
    throw err;
  } finally {
    await Promise.allSettled(peers.map((p) => p.stop(2_000)));
    await network?.close();
    if (!keep) await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

interface Schedule {
  readonly ops: readonly PlannedOperation[];
  readonly faults: readonly Fault[];
  readonly journal: Journal;
  readonly places: readonly Place[];
  readonly peers: readonly PeerProcess[];
  readonly network: Network;
  readonly state: string[];
  readonly names: readonly string[];
  readonly options: RunOptions;
}

/** Applies operations and faults at their planned times; all faults are undone when it returns. */
async function runSchedule(s: Schedule): Promise<{ applied: number }> {
  const { signal } = s.options;
  let applied = 0;
  const opsDone = (async () => {
    let at = 0;
    let nextReport = 10_000;
    for (const [index, planned] of s.ops.entries()) {
      if (signal?.aborted) break;
      at += planned.gapMs;
      await sleep(at - s.journal.now(), signal);
      if (signal?.aborted) break;
      await applyOperation(s, index, planned.op);
      applied++;
      if (s.journal.now() >= nextReport) {
        s.options.log(
          `chaos: ${
            (s.journal.now() / 1000).toFixed(0)
          } s: ${applied} operations, ${s.journal.faults.length} faults done`,
        );
        nextReport += 10_000;
      }
    }
  })();
  const faultsDone = Promise.all(s.faults.map((f) => runFault(s, f)));
  await Promise.all([opsDone, faultsDone]);
  return { applied };
}

async function runFault(s: Schedule, fault: Fault): Promise<void> {
  const { signal } = s.options;
  await sleep(fault.atMs - s.journal.now(), signal);
  if (signal?.aborted) return;
  const peer = s.peers[fault.peer]!;
  const name = s.names[fault.peer]!;
  if (fault.kind === "cut" && s.network.noCuts !== undefined) return;
  const t = s.journal.now();
  try {
    switch (fault.kind) {
      case "kill":
        s.state[fault.peer] = "killed";
        await peer.kill();
        break;
      case "stop":
        s.state[fault.peer] = "stopped";
        peer.signal("SIGSTOP");
        break;
      case "cut":
        s.state[fault.peer] = "cut";
        await s.network.setLink(fault.peer, false);
        break;
    }
    await sleep(fault.atMs + fault.durationMs - s.journal.now(), signal);
  } finally {
    switch (fault.kind) {
      case "kill":
        peer.start();
        break;
      case "stop":
        peer.signal("SIGCONT");
        break;
      case "cut":
        await s.network.setLink(fault.peer, true);
        break;
    }
    s.state[fault.peer] = "up";
    s.journal.recordFault({
      kind: fault.kind,
      peer: name,
      t,
      tEnd: s.journal.now(),
    });
  }
}

type Fields = Omit<JournalEntry, "seq" | "t" | "tEnd" | "peerState">;

/** Applies one planned operation and journals it (two entries for `concurrent`). */
async function applyOperation(
  s: Schedule,
  opIndex: number,
  op: Operation,
): Promise<void> {
  const run = async (
    peer: number,
    fields: Omit<Fields, "peer" | "opIndex" | keyof Effect>,
    act: (place: Place) => Promise<Effect>,
  ) => {
    const peerState = s.state[peer]!;
    const t = s.journal.now();
    let effect: Effect;
    try {
      effect = await act(s.places[peer]!);
    } catch (err) {
      effect = {
        seen: [],
        replaced: [],
        outcome: "skipped",
        note: `failed: ${(err as Error).message}`,
      };
    }
    s.journal.record({
      ...fields,
      ...effect,
      opIndex,
      peer: s.names[peer]!,
      t,
      tEnd: s.journal.now(),
      peerState,
    } as Omit<JournalEntry, "seq">);
  };
  const write = (
    kind: Operation["kind"],
    path: string,
    w: WriteSpec,
    exec?: boolean,
  ) =>
    run(w.peer, {
      kind,
      path,
      ...(w.token === undefined ? {} : { token: w.token }),
      mode: w.mode,
      size: w.size,
      ...(exec === undefined ? {} : { exec }),
    }, (place) => applyWrite(place, path, w, exec));
  switch (op.kind) {
    case "create":
      return write(op.kind, op.path, op.write, op.exec);
    case "empty":
    case "overwrite":
      return write(op.kind, op.path, op.write);
    case "concurrent": {
      const [first, second] = op.writes;
      await Promise.all([
        write(op.kind, op.path, first),
        sleep(op.delayMs).then(() => write(op.kind, op.path, second)),
      ]);
      return;
    }
    case "append":
      return run(
        op.peer,
        { kind: op.kind, path: op.path, token: op.token },
        (place) => applyAppend(place, op.path, op.token),
      );
    case "delete":
    case "rmdir":
      return run(
        op.peer,
        { kind: op.kind, path: op.path },
        (place) => applyDelete(place, op.path, op.kind === "rmdir"),
      );
    case "rename":
    case "renameDir":
      return run(
        op.peer,
        { kind: op.kind, path: op.path, to: op.to },
        (place) => applyRename(place, op.path, op.to),
      );
    case "mkdir":
      return run(
        op.peer,
        { kind: op.kind, path: op.path },
        (place) => applyMkdir(place, op.path),
      );
    case "chmod":
      return run(
        op.peer,
        { kind: op.kind, path: op.path, exec: op.exec },
        (place) => applyChmod(place, op.path, op.exec),
      );
  }
}

/**
 * Polls until every folder holds the same tree and keeps holding it for
 * `stableMs`; returns how long that took (undefined: not by the deadline)
 * and the final trees. A peer's mass-delete hold is accepted on the way,
 * as its user would (see delete_holds.ts).
 */
async function quiesce(
  places: readonly Place[],
  peers: readonly PeerProcess[],
  options: RunOptions,
): Promise<{ ms: number | undefined; trees: Tree[]; holdsAccepted: number }> {
  const start = performance.now();
  const deadline = start + options.quiesceTimeoutMs;
  const trackers = peers.map(() => new HoldTracker());
  let holdsAccepted = 0;
  let since: number | undefined;
  let last = "";
  let trees: Tree[] = [];
  while (performance.now() < deadline && !options.signal?.aborted) {
    const cheap = await Promise.all(places.map((p) => readTree(p.dir, false)));
    if (treesIdentical(cheap)) {
      trees = await Promise.all(places.map((p) => readTree(p.dir)));
      if (treesIdentical(trees)) {
        const sig = signature(trees[0]!);
        if (sig !== last || since === undefined) {
          last = sig;
          since = performance.now();
        } else if (performance.now() - since >= options.stableMs) {
          return { ms: since - start, trees, holdsAccepted };
        }
      } else since = undefined;
    } else since = undefined;
    if (since === undefined && holdsAccepted < MAX_HOLDS_ACCEPTED) {
      holdsAccepted += await acceptHolds(places, peers, trackers, options);
    }
    await sleep(POLL_MS, options.signal);
  }
  trees = await Promise.all(places.map((p) => readTree(p.dir)));
  return { ms: undefined, trees, holdsAccepted };
}

/** Accepts every hold a peer announced since the last look; returns how many. */
async function acceptHolds(
  places: readonly Place[],
  peers: readonly PeerProcess[],
  trackers: readonly HoldTracker[],
  options: RunOptions,
): Promise<number> {
  let accepted = 0;
  for (const [i, peer] of peers.entries()) {
    if (!peer.running) continue;
    const fresh = trackers[i]!.fresh(peer.starts, peer.currentOutput);
    if (fresh.length === 0) continue;
    const hold = fresh[fresh.length - 1]!;
    const reply = await peer.command(
      ["resume", "-d", places[i]!.dir, "--accept-deletes"],
      COMMAND_TIMEOUT_MS,
    ).catch((err: Error) => ({ success: false, output: err.message }));
    options.log(
      `chaos: ${peer.name} held a mass delete (${hold.deletes} of its ${hold.files} files); ${
        reply.success
          ? "accepted, as its user would"
          : `accepting failed: ${reply.output.split("\n")[0]}`
      }`,
    );
    if (reply.success) accepted++;
  }
  return accepted;
}
