/**
 * A measurement, not a test of the suite: how long a new file takes to
 * reach one device, and to reach two devices that start together, behind
 * one slow link (10 Mbit/s by default) (alpha on one side, beta and gamma on the other, fast
 * between them). Without swarming the two share alpha's link and take
 * about twice as long; with it, about as long as one.
 * Run: `deno test -A tests/e2e/_swarm_probe.ts` (root; network namespaces).
 * @module
 */
import { assertEquals } from "../assert.ts";
import { DsyncProcess } from "./_dsync.ts";
import { waitIdentical } from "./_folders.ts";
import { withThrottledLink, writeBigFile } from "./_faults.ts";

const MiB = 1024 * 1024;
const SIZE = Number(Deno.env.get("SWARM_PROBE_MIB") ?? "16") * MiB;
const RATE = Deno.env.get("SWARM_PROBE_RATE") ?? "10mbit";

async function reach(receivers: number): Promise<number> {
  let ms = 0;
  await withThrottledLink(
    "swarm probe",
    RATE,
    async ({ link, a, b, env, procs }) => {
      const c = `${a}/../c`;
      await Deno.mkdir(c);
      const port = 9651;
      const node = (
        dir: string,
        name: string,
        p: number,
        peers: string[],
        side: "a" | "b",
      ) =>
        new DsyncProcess([
          "-d",
          dir,
          "-n",
          name,
          "-p",
          String(p),
          "--no-discovery",
          ...peers.flatMap((x) => ["-a", x]),
        ], { env, wrapper: link.wrapper(side) });
      const alpha = node(a, "alpha", port, [], "a");
      procs.push(alpha);
      procs.push(node(b, "beta", port, [`${link.ipA}:${port}`], "b"));
      if (receivers === 2) {
        procs.push(
          node(c, "gamma", port + 1, [
            `${link.ipA}:${port}`,
            `127.0.0.1:${port}`,
          ], "b"),
        );
      }
      // Everyone connected first: the clock measures the transfer only.
      for (const name of receivers === 2 ? ["beta", "gamma"] : ["beta"]) {
        await alpha.waitForOutput(new RegExp(`Peer ${name} `), 60_000);
      }
      await writeBigFile(`${a}/../film.tmp`, SIZE, 5);
      const started = Date.now();
      await Deno.rename(`${a}/../film.tmp`, `${a}/film.bin`);
      await waitIdentical(a, b, { timeoutMs: 300_000, procs });
      if (receivers === 2) {
        await waitIdentical(a, c, { timeoutMs: 300_000, procs });
      }
      ms = Date.now() - started;
      for (const proc of procs) assertEquals(await proc.stop(), 0);
    },
  );
  return ms;
}

Deno.test("swarm probe: one receiver vs two started together", async () => {
  const rounds = Number(Deno.env.get("SWARM_PROBE_ROUNDS") ?? "2");
  const one: number[] = [];
  const two: number[] = [];
  for (let r = 0; r < rounds; r++) {
    one.push(await reach(1));
    two.push(await reach(2));
  }
  const median = (xs: number[]) =>
    [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(
    `${SIZE / MiB} MiB over ${RATE}: one receiver ${one.join(", ")} ms; two ${
      two.join(", ")
    } ms; ratio of medians ${(median(two) / median(one)).toFixed(2)}`,
  );
});
