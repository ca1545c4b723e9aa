/**
 * A workspace of several dsync nodes on loopback for end-to-end tests: each
 * node has a folder, a port and a name, and is started with `-a` to the
 * peers a test chooses (none: it runs alone).
 * @module
 */
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  RUN_PERMISSIONS,
} from "./_dsync.ts";
import { type Snapshot, waitIdentical } from "./_folders.ts";

/** One dsync instance of a mesh: its name, folder, port and process. */
export interface MeshNode {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  proc: DsyncProcess | undefined;
}

/** A temp workspace with one folder per node name. Dispose with `await using`. */
export class Mesh {
  readonly root: string;
  readonly nodes: readonly MeshNode[];
  readonly #env: Record<string, string>;

  private constructor(root: string, names: readonly string[]) {
    this.root = root;
    this.nodes = names.map((name) => ({
      name,
      dir: `${root}/${name}`,
      port: freePort(),
      proc: undefined,
    }));
    this.#env = isolatedEnv(`${root}/home`);
  }

  /** Makes the workspace with an empty folder for each of `names`. */
  static async create(names: readonly string[]): Promise<Mesh> {
    const root = await Deno.makeTempDir({ prefix: "dsync_mesh_" });
    const mesh = new Mesh(root, names);
    await Deno.mkdir(`${root}/home`);
    for (const node of mesh.nodes) await Deno.mkdir(node.dir);
    return mesh;
  }

  /** The node named `name`; throws on an unknown name. */
  node(name: string): MeshNode {
    const found = this.nodes.find((n) => n.name === name);
    if (found === undefined) throw new Error(`No node named ${name}`);
    return found;
  }

  /** The environment the nodes run in (for `runDsync` commands). */
  get env(): Record<string, string> {
    return this.#env;
  }

  /**
   * Starts `node`, dialing `peers` (the others when omitted; `[]`: alone),
   * with `extra` arguments.
   */
  start(
    node: MeshNode,
    peers?: readonly MeshNode[],
    extra: readonly string[] = [],
  ): DsyncProcess {
    if (node.proc !== undefined) throw new Error(`${node.name} is running`);
    const dial = (peers ?? this.nodes.filter((n) => n !== node)).flatMap((
      p,
    ) => ["-a", `127.0.0.1:${p.port}`]);
    node.proc = new DsyncProcess([
      "-d",
      node.dir,
      "-p",
      String(node.port),
      "-n",
      node.name,
      "--no-discovery",
      ...dial,
      ...extra,
    ], { permissions: RUN_PERMISSIONS, env: this.#env });
    return node.proc;
  }

  /** Starts every node, each dialing all the others. */
  startAll(): void {
    for (const node of this.nodes) this.start(node);
  }

  /** Waits until `node` has indexed its folder and said hello to each of `peers`. */
  async connected(
    node: MeshNode,
    peers: readonly MeshNode[],
    timeoutMs = 30_000,
  ): Promise<void> {
    for (const peer of peers) {
      await node.proc!.waitForOutput(
        new RegExp(`Peer "?${peer.name}"? .* connected`),
        timeoutMs,
      );
    }
    // Nodes serve peers while they index (see SyncPair.connected).
    await node.proc!.waitForOutput(/Indexed /, timeoutMs);
  }

  /** Stops `node` (SIGTERM: a clean shutdown) and returns its exit code. */
  async stop(node: MeshNode, signal: Deno.Signal = "SIGTERM"): Promise<number> {
    const proc = node.proc;
    node.proc = undefined;
    return proc === undefined ? 0 : await proc.stop(signal);
  }

  /** Stops every running node cleanly; returns the exit codes by name. */
  async stopAll(): Promise<Record<string, number>> {
    const codes = await Promise.all(this.nodes.map((n) => this.stop(n)));
    return Object.fromEntries(this.nodes.map((n, i) => [n.name, codes[i]!]));
  }

  /** The processes running. */
  get procs(): DsyncProcess[] {
    return this.nodes.flatMap((n) => n.proc === undefined ? [] : [n.proc]);
  }

  /**
   * Polls until every folder of `nodes` (all when omitted) is identical to
   * the first one and `check` accepts its snapshot; returns that snapshot.
   */
  async identical(
    options: {
      nodes?: readonly MeshNode[];
      timeoutMs?: number;
      check?: (snap: Snapshot) => boolean;
    } = {},
  ): Promise<Snapshot> {
    const nodes = options.nodes ?? this.nodes;
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const first = nodes[0];
    if (first === undefined) throw new Error("No nodes to compare");
    for (;;) {
      let snap: Snapshot | undefined;
      for (const other of nodes.slice(1)) {
        snap = await waitIdentical(first.dir, other.dir, {
          timeoutMs: Math.max(1, deadline - Date.now()),
          procs: this.procs,
          ...(options.check === undefined ? {} : { check: options.check }),
        });
      }
      if (snap === undefined) throw new Error("Need two nodes to compare");
      // Every pair matched at its moment; check once more that none moved.
      const again = await waitIdentical(first.dir, nodes.at(-1)!.dir, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        procs: this.procs,
      });
      if (nodes.length === 2 || sameSnapshot(snap, again)) return again;
      if (Date.now() > deadline) {
        throw new Error("Folders kept changing until the deadline");
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => this.stop(n, "SIGKILL")));
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  if (a.size !== b.size) return false;
  for (const [path, value] of a) if (b.get(path) !== value) return false;
  return true;
}
