/**
 * Swarming, end to end: alpha holds a new file behind a slow link (a veth
 * pair limited to 40 Mbit/s, network namespaces); beta and gamma sit on
 * the other side, where the link between them is fast. Gamma starts once
 * beta holds part of the file, and must get chunks of it from beta while
 * beta is still receiving it from alpha: beta's status counts bytes it
 * served gamma from its `.part`, gamma's status bytes received from beta,
 * and both are seen before beta holds the file. And when beta and gamma
 * start together, each takes its own chunk order: each gets a good share
 * of the file from the other, and alpha sends it about once, not twice.
 * @module
 */
import { waitFor } from "../_wait.ts";
import { assert, assertEquals } from "../assert.ts";
import { DsyncProcess, runDsync } from "./_dsync.ts";
import { waitIdentical } from "./_folders.ts";
import { withThrottledLink, writeBigFile } from "./_faults.ts";
import type { StatusDocument } from "../../src/node/mod.ts";

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;

/** `dsync status --json` of the node on `dir`, run in its namespace. */
async function statusOf(
  dir: string,
  wrapper: string[],
  env: Record<string, string>,
): Promise<StatusDocument | undefined> {
  const run = await runDsync(["status", "-d", dir, "--json"], {
    env,
    wrapper,
    timeoutMs: 20_000,
  });
  if (run.code !== 0) return undefined;
  return JSON.parse(run.stdout) as StatusDocument;
}

function peerOf(doc: StatusDocument | undefined, name: string) {
  return doc?.peers.find((p) => p.name === name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("swarming: gamma receives chunks of a file from beta while beta is still receiving it from alpha", async () => {
  await withThrottledLink(
    "swarming",
    "40mbit",
    async ({ link, a, b, env, procs }) => {
      const c = `${a}/../c`;
      await Deno.mkdir(c);
      await writeBigFile(`${a}/film.bin`, SIZE, 21);
      const port = 9641;
      const gammaPort = 9642;
      const node = (
        dir: string,
        name: string,
        listen: number,
        peers: string[],
        side: "a" | "b",
      ) =>
        new DsyncProcess([
          "-d",
          dir,
          "-n",
          name,
          "-p",
          String(listen),
          "--no-discovery",
          ...peers.flatMap((p) => ["-a", p]),
          "--gui",
          "127.0.0.1:0",
        ], { env, wrapper: link.wrapper(side) });
      procs.push(node(a, "alpha", port, [], "a"));
      procs.push(node(b, "beta", port, [`${link.ipA}:${port}`], "b"));
      // Gamma comes once beta holds a part of the file (and not all).
      await waitFor(
        async () => {
          const beta = await statusOf(b, link.wrapper("b"), env);
          const done = beta?.transfers.find((t) => t.path === "film.bin")
            ?.done;
          if (done !== undefined && done >= 8 * MiB) return true;
          assert(!(await exists(`${b}/film.bin`)), "beta finished too soon");
          return false;
        },
        "beta to receive 8 MiB",
        120_000,
        100,
      );
      procs.push(
        node(c, "gamma", gammaPort, [
          `${link.ipA}:${port}`,
          `127.0.0.1:${port}`,
        ], "b"),
      );
      // bytesSentFromPartial counts only chunks beta served from its
      // .part, i.e. while it was still receiving the file.
      let servedFromPart = 0;
      let gammaFromBeta = 0;
      await waitFor(
        async () => {
          const betaDone = await exists(`${b}/film.bin`);
          const [beta, gamma] = await Promise.all([
            statusOf(b, link.wrapper("b"), env),
            statusOf(c, link.wrapper("b"), env),
          ]);
          servedFromPart = peerOf(beta, "gamma")?.bytesSentFromPartial ?? 0;
          gammaFromBeta = peerOf(gamma, "beta")?.bytesReceived ?? 0;
          if (servedFromPart > 0 && gammaFromBeta > 0) return true;
          assert(
            !betaDone,
            `beta finished first: it served gamma ${servedFromPart} bytes from its .part, gamma got ${gammaFromBeta} from beta`,
          );
          return false;
        },
        "swarming: gamma served by beta from its .part",
        120_000,
        100,
      );
      console.log(
        `beta served gamma ${
          (servedFromPart / MiB).toFixed(1)
        } MiB from its .part while still receiving; gamma had ${
          (gammaFromBeta / MiB).toFixed(1)
        } MiB from beta`,
      );
      await waitIdentical(a, b, { timeoutMs: 240_000, procs });
      await waitIdentical(a, c, { timeoutMs: 240_000, procs });
      const gamma = await statusOf(c, link.wrapper("b"), env);
      const fromBeta = peerOf(gamma, "beta")?.bytesReceived ?? 0;
      const fromAlpha = peerOf(gamma, "alpha")?.bytesReceived ?? 0;
      console.log(
        `gamma received ${(fromBeta / MiB).toFixed(1)} MiB from beta, ${
          (fromAlpha / MiB).toFixed(1)
        } MiB from alpha`,
      );
      assert(fromBeta > 0, "gamma received nothing from beta");
      for (const proc of procs) assertEquals(await proc.stop(), 0);
    },
  );
});

Deno.test("swarming: two receivers starting together get a share from each other, and the holder sends the file about once", async () => {
  const size = 32 * MiB;
  await withThrottledLink(
    "swarming together",
    "40mbit",
    async ({ link, a, b, env, procs }) => {
      const c = `${a}/../c`;
      await Deno.mkdir(c);
      const port = 9643;
      const node = (
        dir: string,
        name: string,
        listen: number,
        peers: string[],
        side: "a" | "b",
      ) =>
        new DsyncProcess([
          "-d",
          dir,
          "-n",
          name,
          "-p",
          String(listen),
          "--no-discovery",
          ...peers.flatMap((p) => ["-a", p]),
          "--gui",
          "127.0.0.1:0",
        ], { env, wrapper: link.wrapper(side) });
      const alpha = node(a, "alpha", port, [], "a");
      procs.push(alpha);
      procs.push(node(b, "beta", port, [`${link.ipA}:${port}`], "b"));
      procs.push(
        node(c, "gamma", port + 1, [
          `${link.ipA}:${port}`,
          `127.0.0.1:${port}`,
        ], "b"),
      );
      for (const name of ["beta", "gamma"]) {
        await alpha.waitForOutput(new RegExp(`Peer ${name} `), 60_000);
      }
      await writeBigFile(`${a}/../film.tmp`, size, 22);
      await Deno.rename(`${a}/../film.tmp`, `${a}/film.bin`);
      await waitIdentical(a, b, { timeoutMs: 240_000, procs });
      await waitIdentical(a, c, { timeoutMs: 240_000, procs });
      const [alphaDoc, beta, gamma] = await Promise.all([
        statusOf(a, link.wrapper("a"), env),
        statusOf(b, link.wrapper("b"), env),
        statusOf(c, link.wrapper("b"), env),
      ]);
      const betaFromGamma = peerOf(beta, "gamma")?.bytesReceived ?? 0;
      const gammaFromBeta = peerOf(gamma, "beta")?.bytesReceived ?? 0;
      const alphaSent = (peerOf(alphaDoc, "beta")?.bytesSent ?? 0) +
        (peerOf(alphaDoc, "gamma")?.bytesSent ?? 0);
      const mib = (n: number) => (n / MiB).toFixed(1);
      console.log(
        `beta got ${mib(betaFromGamma)} MiB from gamma, gamma ${
          mib(gammaFromBeta)
        } MiB from beta; alpha sent ${mib(alphaSent)} MiB for a ${
          mib(size)
        } MiB file`,
      );
      // Asking in one order, the two would get nearly all from alpha.
      assert(
        betaFromGamma >= size / 5 && gammaFromBeta >= size / 5,
        `beta got ${mib(betaFromGamma)} MiB from gamma, gamma ${
          mib(gammaFromBeta)
        } MiB from beta`,
      );
      assert(alphaSent > 0, "alpha's status counted nothing sent");
      assert(
        alphaSent <= size * 1.5,
        `alpha sent ${mib(alphaSent)} MiB for a ${mib(size)} MiB file`,
      );
      for (const proc of procs) assertEquals(await proc.stop(), 0);
    },
  );
});
