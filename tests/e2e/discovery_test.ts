/**
 * Zero-config: two dsync processes with no -a find each other over mDNS and
 * sync. They run inside a network namespace this test creates (root and
 * iproute2 needed), so no packet reaches a real network.
 * @module
 */
import { assertEquals } from "../assert.ts";
import { DsyncProcess, isolatedEnv } from "./_dsync.ts";
import { waitIdentical } from "./_folders.ts";
import { succeeds } from "./_netns.ts";

const ip = (args: string[]) => succeeds("ip", args);

async function whyNotRunnable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "needs root to create a network namespace";
  if (!(await ip(["-V"]))) return "iproute2 (`ip`) is missing";
  return undefined;
}

Deno.test("dsync peers with no -a find each other over mDNS and sync", async () => {
  const reason = await whyNotRunnable();
  if (reason !== undefined) {
    console.log(`Skipping the mDNS end-to-end test: ${reason}`);
    return;
  }
  const ns = `dsync-e2e-${crypto.randomUUID().slice(0, 8)}`;
  if (!(await ip(["netns", "add", ns]))) {
    console.log(
      "Skipping the mDNS end-to-end test: cannot create a network namespace",
    );
    return;
  }
  const root = await Deno.makeTempDir({ prefix: "dsync-mdns-" });
  const nodes: DsyncProcess[] = [];
  try {
    // Both ends of a veth pair inside the namespace: a tiny private LAN.
    for (
      const args of [
        ["link", "set", "lo", "up"],
        ["link", "add", "dsync0", "type", "veth", "peer", "name", "dsync1"],
        ["addr", "add", "10.213.1.1/24", "dev", "dsync0"],
        ["addr", "add", "10.213.1.2/24", "dev", "dsync1"],
        ["link", "set", "dsync0", "up"],
        ["link", "set", "dsync1", "up"],
        ["route", "add", "224.0.0.0/4", "dev", "dsync0"],
      ]
    ) {
      if (!(await ip(["-n", ns, ...args]))) {
        throw new Error(`ip -n ${ns} ${args.join(" ")} failed`);
      }
    }
    await Deno.mkdir(`${root}/alpha`);
    await Deno.mkdir(`${root}/beta`);
    await Deno.writeTextFile(`${root}/alpha/hello.txt`, "found you\n");
    await Deno.writeTextFile(`${root}/beta/other.txt`, "and you\n");
    for (const [name, port] of [["alpha", 9501], ["beta", 9502]] as const) {
      nodes.push(
        new DsyncProcess([
          "-d",
          `${root}/${name}`,
          "-n",
          name,
          "-p",
          String(port),
        ], {
          env: isolatedEnv(root),
          wrapper: ["ip", "netns", "exec", ns],
        }),
      );
    }
    await nodes[0]!.waitForOutput(/Peer beta \([A-Z2-7-]+\) connected/);
    await waitIdentical(`${root}/alpha`, `${root}/beta`, { procs: nodes });
    assertEquals(
      await Deno.readTextFile(`${root}/beta/hello.txt`),
      "found you\n",
    );
    for (const node of nodes) {
      assertEquals(await node.stop("SIGTERM"), 0, node.output);
    }
  } finally {
    for (const node of nodes) await node.stop("SIGKILL");
    await ip(["netns", "del", ns]);
    await Deno.remove(root, { recursive: true });
  }
});
