/**
 * A peer whose link is cut is seen as gone within 10 s (issue #20; it took
 * 47.6 s with the pool's old keepalive of 15 s and timeout of 45 s): two
 * nodes in network namespaces joined by a veth pair, the link taken down
 * with `ip link set down`, and both logs and `dsync status` must say
 * "disconnected" within 10 s. Needs root, `ip` and `unshare`; skipped with
 * the reason otherwise.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { isolatedEnv, runDsync } from "./_dsync.ts";
import { writeTree } from "./_folders.ts";
import { skip, startLinkedPair, VethLink, whyNotRoot } from "./_faults.ts";

const TEST = "dead peer: a cut link shows as disconnected on both sides";
const BOUND_MS = 10_000;

Deno.test(
  "dead peer: a cut link shows as disconnected on both sides within 10 s",
  async () => {
    const reason = await whyNotRoot([["ip", ["-V"]]]);
    if (reason !== undefined) return skip(TEST, reason);
    const root = await Deno.makeTempDir({ prefix: "dsync_dead_" });
    const a = `${root}/a`;
    const b = `${root}/b`;
    const procs: ReturnType<typeof startLinkedPair> = [];
    try {
      for (const dir of [a, b, `${root}/home`]) await Deno.mkdir(dir);
      await writeTree(a, { "hello.txt": "hello" });
      const env = isolatedEnv(`${root}/home`);
      await using link = await VethLink.create();
      procs.push(...startLinkedPair(link, a, b, 9631, env));
      const [alpha, beta] = procs as [
        (typeof procs)[number],
        (typeof procs)[number],
      ];
      await alpha.waitForOutput(/In sync with 1 peer/, 30_000);
      await beta.waitForOutput(/In sync with 1 peer/, 30_000);
      // Idle past a keepalive or two: the cut comes on a quiet link, the
      // case where nothing but keepalives can tell.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      assert(!/disconnected/.test(alpha.output), alpha.output);

      await link.setUp(false);
      const cutAt = Date.now();
      await Promise.all([
        alpha.waitForOutput(
          /Peer beta \(.*\) disconnected: DeadPeerError/,
          BOUND_MS,
        ),
        beta.waitForOutput(
          /Peer alpha \(.*\) disconnected: DeadPeerError/,
          BOUND_MS,
        ),
      ]);
      const took = Date.now() - cutAt;
      console.log(`Both sides saw the cut peer gone after ${took} ms`);
      assert(took <= BOUND_MS, `took ${took} ms`);

      // And `dsync status` (inside alpha's namespace, where its control
      // port is) says so too.
      const status = await runDsync(["status", "-d", a], {
        env,
        wrapper: link.wrapper("a"),
      });
      assertEquals(status.code, 0, status.stderr);
      assert(
        /^ {2}beta \(.*: disconnected /m.test(status.stdout),
        status.stdout,
      );
      assert(
        status.stdout.startsWith(`${a}: no peer connected`),
        status.stdout,
      );
    } finally {
      for (const proc of procs) await proc.stop("SIGKILL");
      await Deno.remove(root, { recursive: true });
    }
  },
);
