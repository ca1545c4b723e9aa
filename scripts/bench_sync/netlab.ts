/**
 * Network namespaces for the shaped-link benchmarks: two hosts joined by one
 * veth pair, or N hosts on a bridge (in a "switch" namespace of its own),
 * every device's veth shaped in both directions with a token bucket (`tc
 * qdisc … tbf`; netem is not in these kernels, so no added delay). All
 * names start with `dsb-<tag>`; `close()` deletes every namespace made,
 * which removes the veths and the bridge in them. Needs root and iproute2:
 * {@linkcode whyNoNetlab} says why it cannot run.
 * @module
 */

/** One host: its namespace, address, device, and a command prefix. */
export interface NetHost {
  readonly ns: string;
  readonly ip: string;
  /** Its end of the veth (the one it sends on). */
  readonly dev: string;
  /** Prefix that runs a command inside the namespace. */
  readonly wrapper: string[];
}

/** A command that failed while building or shaping the network. */
export class NetlabError extends Error {
  override name = "NetlabError";
}

const RATE = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)$/;

/** Bits per second of a tc rate such as "100mbit" or "1gbit"; throws `RangeError`. */
export function rateBits(rate: string): number {
  const m = rate.match(RATE);
  if (m === null || Number(m[1]) <= 0) {
    throw new RangeError(
      `Cannot use rate "${rate}": expected e.g. 100mbit or 1gbit`,
    );
  }
  const unit = { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2] as "kbit"];
  return Number(m[1]) * unit;
}

/**
 * The tbf bucket for `rate`: a kernel tick's worth of bytes at that rate
 * (HZ may be as low as 100), and at least 128 KiB so that one GSO packet
 * (up to 64 KiB) always fits; the queue holds 20 ms at the rate (at least
 * the burst), which adds no delay while the link is not full.
 */
export function tbfParams(rate: string): string[] {
  const bytesPerSecond = rateBits(rate) / 8;
  const burst = Math.max(128 * 1024, Math.ceil(bytesPerSecond / 100));
  const limit = Math.max(burst * 2, Math.ceil(bytesPerSecond * 0.02));
  return [
    "tbf",
    "rate",
    rate,
    "burst",
    String(burst),
    "limit",
    String(limit),
  ];
}

async function run(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success
      ? null
      : `${cmd} ${args.join(" ")}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`;
  } catch (error) {
    return `${cmd}: ${error instanceof Error ? error.message : error}`;
  }
}

/** Why namespace benchmarks cannot run here, or null if they can. */
export async function whyNoNetlab(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "needs root to create network namespaces";
  if ((await run("ip", ["-V"])) !== null) return "iproute2 (ip) is missing";
  if ((await run("tc", ["-V"])) !== null) return "iproute2 (tc) is missing";
  return null;
}

/** Namespaces whose name starts with `prefix` (to check that none is left). */
export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "list"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(prefix));
}

/** Prefix of every namespace the benchmark makes. */
export const NETLAB_PREFIX = "dsb-";

/** A set of namespaces with shaped veths. Dispose with `await using`. */
export class Netlab {
  readonly hosts: NetHost[] = [];
  /** Start of every namespace name of this lab. */
  readonly prefix: string;
  readonly rate: string;
  readonly #namespaces: string[] = [];
  readonly #subnet: string;

  private constructor(rate: string) {
    rateBits(rate);
    this.rate = rate;
    this.prefix = `${NETLAB_PREFIX}${crypto.randomUUID().slice(0, 6)}`;
    const b = crypto.getRandomValues(new Uint8Array(1))[0]!;
    this.#subnet = `10.216.${b}`;
  }

  /** Two hosts joined by one veth pair, each end shaped to `rate`. */
  static async pair(rate: string): Promise<Netlab> {
    const lab = new Netlab(rate);
    try {
      const [a, b] = [`${lab.prefix}-a`, `${lab.prefix}-b`];
      await lab.#addNs(a);
      await lab.#addNs(b);
      await lab.#ip(a, [
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        b,
      ]);
      for (const [i, ns] of [a, b].entries()) {
        await lab.#host(ns, "eth0", i + 1);
      }
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  /**
   * `count` hosts on a bridge; each host's veth is shaped to `rate` at both
   * ends (what it sends, and what the switch sends to it).
   */
  static async star(count: number, rate: string): Promise<Netlab> {
    if (!Number.isInteger(count) || count < 2 || count > 200) {
      throw new RangeError(`Cannot build a star of ${count} hosts`);
    }
    const lab = new Netlab(rate);
    try {
      const sw = `${lab.prefix}-sw`;
      await lab.#addNs(sw);
      await lab.#ip(sw, ["link", "add", "br0", "type", "bridge"]);
      await lab.#ip(sw, ["link", "set", "br0", "up"]);
      for (let i = 1; i <= count; i++) {
        const ns = `${lab.prefix}-${i}`;
        await lab.#addNs(ns);
        const port = `p${i}`;
        await lab.#ip(ns, [
          "link",
          "add",
          "eth0",
          "type",
          "veth",
          "peer",
          "name",
          port,
          "netns",
          sw,
        ]);
        await lab.#ip(sw, ["link", "set", port, "master", "br0"]);
        await lab.#ip(sw, ["link", "set", port, "up"]);
        await lab.#shape(sw, port);
        await lab.#host(ns, "eth0", i);
      }
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  async #host(ns: string, dev: string, index: number): Promise<void> {
    const ip = `${this.#subnet}.${index}`;
    await this.#ip(ns, ["link", "set", "lo", "up"]);
    await this.#ip(ns, ["addr", "add", `${ip}/24`, "dev", dev]);
    await this.#ip(ns, ["link", "set", dev, "up"]);
    await this.#shape(ns, dev);
    this.hosts.push({ ns, ip, dev, wrapper: ["ip", "netns", "exec", ns] });
  }

  async #shape(ns: string, dev: string): Promise<void> {
    const failed = await run("ip", [
      "netns",
      "exec",
      ns,
      "tc",
      "qdisc",
      "replace",
      "dev",
      dev,
      "root",
      ...tbfParams(this.rate),
    ]);
    if (failed !== null) throw new NetlabError(failed);
  }

  async #addNs(ns: string): Promise<void> {
    const failed = await run("ip", ["netns", "add", ns]);
    if (failed !== null) throw new NetlabError(failed);
    this.#namespaces.push(ns);
  }

  async #ip(ns: string, args: string[]): Promise<void> {
    const failed = await run("ip", ["-n", ns, ...args]);
    if (failed !== null) throw new NetlabError(failed);
  }

  /** Bytes sent so far by all hosts (the kernel's counters of their veths). */
  async sentBytes(): Promise<number> {
    let sum = 0;
    for (const host of this.hosts) {
      const out = await new Deno.Command("ip", {
        args: ["-n", host.ns, "-j", "-s", "link", "show", "dev", host.dev],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new NetlabError(
          `Cannot read the counters of ${host.ns}: ${
            new TextDecoder().decode(out.stderr).trim()
          }`,
        );
      }
      const [link] = JSON.parse(new TextDecoder().decode(out.stdout)) as {
        stats64?: { tx?: { bytes?: number } };
      }[];
      sum += link?.stats64?.tx?.bytes ?? 0;
    }
    return sum;
  }

  /** Deletes every namespace made (hosts first, the switch last). */
  async close(): Promise<void> {
    for (const ns of this.#namespaces.splice(0).reverse()) {
      await run("ip", ["netns", "del", ns]);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Waits until something listens on TCP `port` where `wrapper` runs
 * commands (`ss` run there; `[]`: here), or throws after `timeoutMs`.
 */
export async function waitListening(
  wrapper: readonly string[],
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const cmd = [...wrapper, "ss", "-Hltn", `sport = :${port}`];
  for (;;) {
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.success && new TextDecoder().decode(out.stdout).trim() !== "") {
      return;
    }
    if (performance.now() > deadline) {
      throw new NetlabError(
        `Nothing listens on port ${port} after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
