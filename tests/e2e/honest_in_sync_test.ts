/**
 * "In sync" is never logged while the other side still lacks a file (issue
 * #20: the sender said "In sync with 1 peer, 225 files, 211 MB" 2.7 s
 * before the receiver had the data). Runs after each other: a new 50 MB
 * file on alpha; the moment either side logs "In sync" with the new file
 * count (polled every few ms), the receiver's copy must already be
 * complete. The lines' times are printed beside the time the file was
 * seen complete.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
} from "./_dsync.ts";
import { writeBigFile } from "./_faults.ts";

const SIZE = 50 * 1000 * 1000;
/**
 * The issue asks for 20 runs; each moves 50 MB through both processes and
 * takes 2–9 s here depending on load, so CI does 10. The old rule failed
 * at the first run.
 */
const RUNS = 10;

/** Epoch ms at which `path` had `size` bytes, polled; -1 if it has not. */
function completeAt(path: string, size: number): number {
  try {
    return Deno.statSync(path).size === size ? Date.now() : -1;
  } catch {
    return -1;
  }
}

Deno.test(`honest in sync: neither side says "In sync" before the receiver holds each of ${RUNS} files of 50 MB`, async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-honest-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  try {
    for (const name of ["alpha", "beta", "home"]) {
      await Deno.mkdir(`${root}/${name}`);
    }
    const [portA, portB] = [freePort(), freePort()];
    const start = (name: string, port: number, peer: number) => {
      const node = new DsyncProcess(loopbackNodeArgs(root, name, port, peer), {
        env,
      });
      nodes.push(node);
      return node;
    };
    const alpha = start("alpha", portA, portB);
    const beta = start("beta", portB, portA);
    await alpha.waitForOutput(/In sync with 1 peer, 0 files/, 30_000);
    await beta.waitForOutput(/In sync with 1 peer, 0 files/, 30_000);

    const deadline = Date.now() + 10 * 60_000;
    for (let run = 1; run <= RUNS && Date.now() < deadline; run++) {
      const name = `run-${run}.bin`;
      const target = `${root}/beta/${name}`;
      const files = run === 1 ? "1 file" : `${run} files`;
      const line = new RegExp(
        `^(\\S+) \\[INF\\] node: In sync with 1 peer, ${files},.*$`,
        "m",
      );
      // Written outside the folder and renamed in: written in place, a
      // file alpha saw half-written (under load the 1 MiB writes pause)
      // was honestly synced and "in sync" at that size, which this test
      // took for a premature claim.
      await writeBigFile(`${root}/home/${name}`, SIZE, run);
      await Deno.rename(`${root}/home/${name}`, `${root}/alpha/${name}`);
      // Poll both logs and the receiver's file together: the first "In
      // sync" of either side must find the file complete already.
      let arrived = -1;
      const said = new Map<string, string>();
      await waitFor(
        () => {
          if (arrived < 0) arrived = completeAt(target, SIZE);
          for (
            const [side, node] of [["alpha", alpha], ["beta", beta]] as const
          ) {
            if (said.has(side)) continue;
            const match = node.output.match(line);
            if (match === null) continue;
            said.set(side, match[0]);
            assert(
              arrived >= 0 || completeAt(target, SIZE) >= 0,
              `run ${run}: ${side} said "${
                match[0]
              }" while beta lacked ${name}`,
            );
          }
          return said.size >= 2;
        },
        `run ${run}: both sides to say in sync`,
        120_000,
        5,
      );
      assertEquals(said.size, 2, `run ${run}: both sides said in sync`);
      console.log(
        `run ${run}: alpha "${said.get("alpha")!.slice(0, 12)}", beta "${
          said.get("beta")!.slice(0, 12)
        }", file complete by ${
          new Date(arrived).toISOString().slice(11, 23)
        } UTC`,
      );
    }
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(root, { recursive: true });
  }
});
