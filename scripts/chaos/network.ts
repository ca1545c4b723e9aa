/**
 * Where the chaos peers live. As root with `ip netns`, each peer gets its
 * own network namespace on a private bridge (tests/e2e/_netns.ts), so a
 * link cut is real (`ip link set eth0 down`); otherwise all share loopback
 * and link cuts are skipped, with the reason said once.
 * @module
 */
import { freePort } from "../../tests/e2e/_dsync.ts";
import { Lan, type LanHost, whyNoNetns } from "../../tests/e2e/_netns.ts";

/** How peers reach each other, and how a link is cut. */
export interface Network {
  /** Why link cuts cannot happen here (undefined: they can). */
  readonly noCuts: string | undefined;
  /** The port peer `i` listens on. */
  port(i: number): number;
  /** `host:port` others dial to reach peer `i`. */
  address(i: number): string;
  /** Command prefix that runs peer `i` in its namespace (empty on loopback). */
  wrapper(i: number): string[];
  /** Takes peer `i`'s link down (`up` false) or back up. */
  setLink(i: number, up: boolean): Promise<void>;
  close(): Promise<void>;
}

const NETNS_PORT = 22_000;

class LoopbackNetwork implements Network {
  readonly noCuts: string;
  readonly #ports: number[];

  constructor(peers: number, noCuts: string) {
    this.noCuts = noCuts;
    this.#ports = Array.from({ length: peers }, () => freePort());
  }
  port(i: number): number {
    return this.#ports[i]!;
  }
  address(i: number): string {
    return `127.0.0.1:${this.#ports[i]!}`;
  }
  wrapper(): string[] {
    return [];
  }
  setLink(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class NamespaceNetwork implements Network {
  readonly noCuts = undefined;
  readonly #lan: Lan;
  readonly #hosts: LanHost[];

  constructor(lan: Lan, hosts: LanHost[]) {
    this.#lan = lan;
    this.#hosts = hosts;
  }
  port(): number {
    return NETNS_PORT;
  }
  address(i: number): string {
    return `${this.#hosts[i]!.ip}:${NETNS_PORT}`;
  }
  wrapper(i: number): string[] {
    return this.#hosts[i]!.wrapper;
  }
  async setLink(i: number, up: boolean): Promise<void> {
    const ns = this.#hosts[i]!.ns;
    const out = await new Deno.Command("ip", {
      args: ["-n", ns, "link", "set", "eth0", up ? "up" : "down"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot set the link of ${ns} ${up ? "up" : "down"}: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
  }
  async close(): Promise<void> {
    await this.#lan.close();
  }
}

/** Namespaces for `names` where possible, else loopback. */
export async function makeNetwork(names: readonly string[]): Promise<Network> {
  const reason = await whyNoNetns();
  if (reason !== undefined) {
    return new LoopbackNetwork(
      names.length,
      reason.startsWith("needs root") ? "not root" : reason,
    );
  }
  let lan: Lan | undefined;
  try {
    lan = await Lan.create();
    const hosts: LanHost[] = [];
    for (const name of names) hosts.push(await lan.addHost(name));
    return new NamespaceNetwork(lan, hosts);
  } catch (err) {
    await lan?.close();
    return new LoopbackNetwork(
      names.length,
      `network namespaces unusable (${(err as Error).message})`,
    );
  }
}
