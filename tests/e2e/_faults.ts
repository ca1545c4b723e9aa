/**
 * Fault injection for end-to-end tests: big files written fast, two network
 * namespaces joined by a veth pair (a link to cut and throttle), a tmpfs to
 * fill, and the reasons a test that needs root and Linux tools is skipped.
 * @module
 */
import { DsyncProcess, isolatedEnv } from "./_dsync.ts";
import { randomBytes } from "./_folders.ts";

const MiB = 1024 * 1024;

/** Runs a command; true when it exits 0. Output goes into `errors` when given. */
export async function run(
  cmd: string,
  args: string[],
  errors?: string[],
): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      errors?.push(
        `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return out.success;
  } catch (err) {
    errors?.push(`${cmd}: ${String(err)}`);
    return false;
  }
}

/** Why a test needing root on Linux and `tools` cannot run here, or undefined. */
export async function whyNotRoot(
  tools: readonly [cmd: string, versionArgs: string[]][] = [],
): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "needs root";
  for (const [cmd, args] of tools) {
    if (!(await run(cmd, args))) return `\`${cmd}\` is missing`;
  }
  return undefined;
}

/** Prints why a test is skipped (the test then returns as passed). */
export function skip(test: string, reason: string): void {
  console.log(`Skipping "${test}": ${reason}`);
}

/**
 * Writes `size` bytes of pseudo-random data to `path`, 1 MiB at a time,
 * each MiB from its own seed so that no two chunks are alike (no chunk can
 * be reused locally: every byte crosses the network).
 */
export async function writeBigFile(
  path: string,
  size: number,
  seed = 1,
): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (let at = 0; at < size; at += MiB) {
    const block = randomBytes(Math.min(MiB, size - at), seed * 100_003 + at);
    let done = 0;
    while (done < block.length) {
      done += await file.write(block.subarray(done));
    }
  }
}

/** Size of the largest dsync `.part` file directly in `dir` (0 when none). */
export async function largestPart(dir: string): Promise<number> {
  let largest = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".part")) continue;
    try {
      largest = Math.max(
        largest,
        (await Deno.stat(`${dir}/${entry.name}`)).size,
      );
    } catch { /* committed or removed meanwhile */ }
  }
  return largest;
}

/** Size of `path`, or undefined when it does not exist. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.lstat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Number of lines of `output` matching `pattern`. */
export function countLines(output: string, pattern: RegExp): number {
  return output.split("\n").filter((line) => pattern.test(line)).length;
}

/**
 * Two network namespaces `a` and `b` joined by a veth pair: a private
 * two-machine LAN whose link a test can cut and throttle. Dispose with
 * `await using` (deletes both namespaces, which removes the pair).
 */
export class VethLink {
  readonly nsA: string;
  readonly nsB: string;
  readonly devA: string;
  readonly devB: string;
  readonly ipA: string;
  readonly ipB: string;

  private constructor() {
    const tag = crypto.randomUUID().slice(0, 6);
    const net = 1 + Math.floor(Math.random() * 250);
    this.nsA = `dsync-f-${tag}-a`;
    this.nsB = `dsync-f-${tag}-b`;
    this.devA = `dsf${tag}a`;
    this.devB = `dsf${tag}b`;
    this.ipA = `10.215.${net}.1`;
    this.ipB = `10.215.${net}.2`;
  }

  /** Creates the namespaces and the link (up, unthrottled); throws with the failing command. */
  static async create(): Promise<VethLink> {
    const link = new VethLink();
    const errors: string[] = [];
    const ok = async (args: string[]) => {
      if (!(await run("ip", args, errors))) {
        throw new Error(`Network setup failed: ${errors.join("; ")}`);
      }
    };
    await ok(["netns", "add", link.nsA]);
    try {
      await ok(["netns", "add", link.nsB]);
      await ok([
        "-n",
        link.nsA,
        "link",
        "add",
        link.devA,
        "type",
        "veth",
        "peer",
        "name",
        link.devB,
        "netns",
        link.nsB,
      ]);
      for (
        const [ns, dev, ip] of [
          [link.nsA, link.devA, link.ipA],
          [link.nsB, link.devB, link.ipB],
        ] as const
      ) {
        await ok(["-n", ns, "link", "set", "lo", "up"]);
        await ok(["-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
        await ok(["-n", ns, "link", "set", dev, "up"]);
      }
    } catch (err) {
      await link[Symbol.asyncDispose]();
      throw err;
    }
    return link;
  }

  /**
   * Limits both directions to `rate` (tc syntax, e.g. `"40mbit"`) with a
   * token bucket (`tbf`: netem is often not built into CI kernels).
   */
  async throttle(rate: string): Promise<void> {
    const errors: string[] = [];
    for (const [ns, dev] of [[this.nsA, this.devA], [this.nsB, this.devB]]) {
      const ok = await run("ip", [
        "netns",
        "exec",
        ns!,
        "tc",
        "qdisc",
        "add",
        "dev",
        dev!,
        "root",
        "tbf",
        "rate",
        rate,
        "burst",
        "32kb",
        "latency",
        "400ms",
      ], errors);
      if (!ok) throw new Error(`Cannot throttle: ${errors.join("; ")}`);
    }
  }

  /** Takes the link down (`up = false`) or brings it back. */
  async setUp(up: boolean): Promise<void> {
    const errors: string[] = [];
    const state = up ? "up" : "down";
    if (
      !(await run(
        "ip",
        ["-n", this.nsA, "link", "set", this.devA, state],
        errors,
      ))
    ) {
      throw new Error(`Cannot set the link ${state}: ${errors.join("; ")}`);
    }
  }

  /** Bytes sent so far out of `side`'s end of the link (the kernel's count). */
  async txBytes(side: "a" | "b"): Promise<number> {
    const [ns, dev] = side === "a"
      ? [this.nsA, this.devA]
      : [this.nsB, this.devB];
    const out = await new Deno.Command("ip", {
      args: ["-n", ns, "-j", "-s", "link", "show", "dev", dev],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot read the link's counters: ${
          new TextDecoder().decode(out.stderr)
        }`,
      );
    }
    const [link] = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      stats64: { tx: { bytes: number } };
    }[];
    return link!.stats64.tx.bytes;
  }

  /** The wrapper that runs a command inside namespace `side`. */
  wrapper(side: "a" | "b"): string[] {
    return ["ip", "netns", "exec", side === "a" ? this.nsA : this.nsB];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await run("ip", ["netns", "del", this.nsA]);
    await run("ip", ["netns", "del", this.nsB]);
  }
}

/** A tmpfs of a given size mounted on a directory; unmounted on dispose. */
export class Tmpfs {
  readonly dir: string;
  #mounted = false;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Mounts a tmpfs of `size` (mount syntax, e.g. `"64m"`) on the existing `dir`. */
  static async mount(dir: string, size: string): Promise<Tmpfs> {
    const errors: string[] = [];
    const fs = new Tmpfs(dir);
    if (
      !(await run(
        "mount",
        ["-t", "tmpfs", "-o", `size=${size}`, "dsync-test", dir],
        errors,
      ))
    ) {
      throw new Error(`Cannot mount a tmpfs: ${errors.join("; ")}`);
    }
    fs.#mounted = true;
    return fs;
  }

  /** Changes the size of the mounted tmpfs. */
  async resize(size: string): Promise<void> {
    const errors: string[] = [];
    if (
      !(await run("mount", ["-o", `remount,size=${size}`, this.dir], errors))
    ) {
      throw new Error(`Cannot resize the tmpfs: ${errors.join("; ")}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#mounted) return;
    this.#mounted = false;
    // A lazy unmount cannot fail on a busy mount (a process just killed).
    await run("umount", ["-l", this.dir]);
  }
}

/** How a test starts one dsync node. */
export interface NodeSpec {
  readonly dir: string;
  readonly name: string;
  readonly port: number;
  /** `host:port` of the peer to dial. */
  readonly peer: string;
  /** Runs deno under this command (a namespace, dropped capabilities). */
  readonly wrapper?: string[];
  readonly env: Record<string, string>;
  /** More flags (e.g. `-v`). */
  readonly extra?: string[];
}

/** Starts a dsync node that dials `spec.peer` with discovery off. */
export function startNode(spec: NodeSpec): DsyncProcess {
  return new DsyncProcess([
    "-d",
    spec.dir,
    "-p",
    String(spec.port),
    "-n",
    spec.name,
    "--no-discovery",
    "-a",
    spec.peer,
    ...(spec.extra ?? []),
  ], {
    env: spec.env,
    ...(spec.wrapper === undefined ? {} : { wrapper: spec.wrapper }),
  });
}

/**
 * Starts dsync "alpha" on folder `a` in `link`'s namespace a and "beta" on
 * `b` in namespace b, both on `port`, each dialing the other.
 */
export function startLinkedPair(
  link: VethLink,
  a: string,
  b: string,
  port: number,
  env: Record<string, string>,
): DsyncProcess[] {
  return [
    startNode({
      dir: a,
      name: "alpha",
      port,
      peer: `${link.ipB}:${port}`,
      wrapper: link.wrapper("a"),
      env,
    }),
    startNode({
      dir: b,
      name: "beta",
      port,
      peer: `${link.ipA}:${port}`,
      wrapper: link.wrapper("b"),
      env,
    }),
  ];
}

/** What {@linkcode withThrottledLink} hands its test. */
export interface LinkedFolders {
  readonly link: VethLink;
  /** The two nodes' folders, empty. */
  readonly a: string;
  readonly b: string;
  /** An environment with a private HOME. */
  readonly env: Record<string, string>;
  /** Nodes started here are killed at the end. */
  readonly procs: DsyncProcess[];
}

/**
 * Runs `fn` with two empty folders for nodes joined by a veth link limited
 * to `rate` (a `tc` rate such as "100mbit"); then kills the nodes in
 * `procs` and removes everything. Skips the test (and returns) where that
 * needs root and `ip`/`tc` that are missing.
 */
export async function withThrottledLink(
  name: string,
  rate: string,
  fn: (setup: LinkedFolders) => Promise<void>,
): Promise<void> {
  const reason = await whyNotRoot([["ip", ["-V"]], ["tc", ["-V"]]]);
  if (reason !== undefined) return skip(name, reason);
  const root = await Deno.makeTempDir({ prefix: "dsync_link_" });
  const procs: DsyncProcess[] = [];
  try {
    await using link = await VethLink.create();
    await link.throttle(rate);
    const a = `${root}/a`;
    const b = `${root}/b`;
    for (const dir of [a, b, `${root}/home`]) await Deno.mkdir(dir);
    await fn({ link, a, b, env: isolatedEnv(`${root}/home`), procs });
  } finally {
    for (const proc of procs) await proc.stop("SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
}
