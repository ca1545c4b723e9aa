/**
 * A private LAN for end-to-end tests: one "switch" network namespace holding
 * a bridge, and host namespaces each joined to it by a veth pair. Everything
 * lives in namespaces this module creates, so nothing touches the host
 * network; `close()` deletes them (which removes the veths and the bridge).
 * Needs root and iproute2: `whyNoNetns()` says why it cannot run.
 * @module
 */

/** One host on the LAN: its namespace, address and a command prefix. */
export interface LanHost {
  /** Host name (also its UTS host name when run through `wrapper`). */
  readonly name: string;
  /** Network namespace name. */
  readonly ns: string;
  /** IPv4 address on the LAN. */
  readonly ip: string;
  /** Prefix that runs a command in this host's namespace with its own host name. */
  readonly wrapper: string[];
}

/** Whether `cmd args` ran and exited 0 (output discarded). */
export async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Why namespace tests cannot run here, or undefined if they can. */
export async function whyNoNetns(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "needs root to create network namespaces";
  if (!(await succeeds("ip", ["-V"]))) return "iproute2 (`ip`) is missing";
  if (!(await succeeds("unshare", ["--version"]))) {
    return "util-linux `unshare` is missing";
  }
  return undefined;
}

/** True if `cmd --version`-style probing finds the program. */
export async function hasProgram(cmd: string, args = ["--version"]) {
  return await succeeds(cmd, args);
}

/** A bridge in its own namespace with hosts attached. Dispose with `await using`. */
export class Lan {
  readonly hosts: LanHost[] = [];
  readonly #prefix: string;
  readonly #switchNs: string;
  readonly #subnet: string;
  readonly #namespaces: string[] = [];
  #nextIndex = 1;

  private constructor() {
    const tag = crypto.randomUUID().slice(0, 8);
    this.#prefix = `dsync-${tag}`;
    this.#switchNs = `${this.#prefix}-sw`;
    const bytes = crypto.getRandomValues(new Uint8Array(2));
    this.#subnet = `10.${100 + (bytes[0]! % 100)}.${bytes[1]!}`;
  }

  /** Makes the switch namespace with its bridge. */
  static async create(): Promise<Lan> {
    const lan = new Lan();
    try {
      await lan.#addNs(lan.#switchNs);
      await lan.#ip(lan.#switchNs, [
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "mcast_snooping",
        "0",
      ]);
      await lan.#ip(lan.#switchNs, ["link", "set", "br0", "up"]);
    } catch (error) {
      await lan.close();
      throw error;
    }
    return lan;
  }

  /** Adds a host namespace `name` with a veth into the bridge. */
  async addHost(name: string): Promise<LanHost> {
    const index = this.#nextIndex++;
    const ns = `${this.#prefix}-${name}`;
    await this.#addNs(ns);
    await this.#ip(ns, ["link", "set", "lo", "up"]);
    const ip = await this.#plug(ns, "eth0", index);
    await this.#ip(ns, ["route", "add", "224.0.0.0/4", "dev", "eth0"]);
    const host: LanHost = {
      name,
      ns,
      ip,
      wrapper: [
        "ip",
        "netns",
        "exec",
        ns,
        "unshare",
        "--uts",
        "sh",
        "-c",
        `hostname ${name} && exec "$@"`,
        "sh",
      ],
    };
    this.hosts.push(host);
    return host;
  }

  /**
   * Joins `host` (of another Lan) to this one with a further interface;
   * returns its address here. No route to this LAN's multicast is added:
   * the host's default multicast interface stays on its first LAN.
   */
  async connect(host: LanHost): Promise<string> {
    const index = this.#nextIndex++;
    return await this.#plug(host.ns, `e-${this.#prefix.slice(6, 12)}`, index);
  }

  /**
   * A veth from namespace `ns` (named `dev` there) into the bridge, with
   * address `<subnet>.<index>`, up; returns the address.
   */
  async #plug(ns: string, dev: string, index: number): Promise<string> {
    const ip = `${this.#subnet}.${index}`;
    const port = `p${index}`;
    await this.#ip(ns, [
      "link",
      "add",
      dev,
      "type",
      "veth",
      "peer",
      "name",
      port,
      "netns",
      this.#switchNs,
    ]);
    await this.#ip(this.#switchNs, ["link", "set", port, "master", "br0"]);
    await this.#ip(this.#switchNs, ["link", "set", port, "up"]);
    await this.#ip(ns, ["addr", "add", `${ip}/24`, "dev", dev]);
    await this.#ip(ns, ["link", "set", dev, "up"]);
    return ip;
  }

  /** Moves `host`'s first interface to a fresh address on this LAN; returns it. */
  async renumber(host: LanHost): Promise<string> {
    const ip = `${this.#subnet}.${this.#nextIndex++}`;
    // Deleting first: removing a primary address drops the secondaries.
    await this.#ip(host.ns, ["addr", "del", `${host.ip}/24`, "dev", "eth0"]);
    await this.#ip(host.ns, ["addr", "add", `${ip}/24`, "dev", "eth0"]);
    await this.#ip(host.ns, ["route", "replace", "224.0.0.0/4", "dev", "eth0"]);
    return ip;
  }

  async #addNs(ns: string): Promise<void> {
    if (!(await succeeds("ip", ["netns", "add", ns]))) {
      throw new Error(`Cannot create network namespace ${ns}`);
    }
    this.#namespaces.push(ns);
  }

  async #ip(ns: string, args: string[]): Promise<void> {
    if (!(await succeeds("ip", ["-n", ns, ...args]))) {
      throw new Error(`Command failed: ip -n ${ns} ${args.join(" ")}`);
    }
  }

  /** Deletes every namespace made (hosts first, then the switch). */
  async close(): Promise<void> {
    for (const ns of this.#namespaces.reverse()) {
      await succeeds("ip", ["netns", "del", ns]);
    }
    this.#namespaces.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
