/**
 * Memory probe (not a test): a hostile peer sends index batches at the 16 MiB
 * cap whose 2,400 tombstones each carry a full 256-entry version vector and
 * a 3.9 KB path, `rounds` times, to a dsync run with a V8 old-space limit.
 * Prints the victim's resident size after each batch.
 *
 *   deno run -A tests/e2e/_hostile_memory_probe.ts [rounds=4] [heapMB=400] [pauseMs=4000] [prefix=cap]
 *
 * Found with it on 2026-11-26 (2 cores): the `ignore` package behind
 * IgnoreRules caches every path it tests and every parent of it, forever;
 * IgnoreRules renewed it only every 20,000 lookups, which for 3.9 KB paths
 * of 16 components held ~100 MB of keys per round: with a 400 MB heap limit
 * dsync died in round 4 ("Ineffective mark-compacts near heap limit"). With
 * the cache bounded in characters, 6 rounds at 400 MB (4 s pauses): RSS
 * 288, 268, 352, 320, 359, 304 MiB, each batch acked in ~3 s; a heap
 * snapshot after 4 rounds holds 38 MB (205 MB after 2 rounds before).
 * @module
 */
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  RUN_PERMISSIONS,
} from "./_dsync.ts";
import {
  HostilePeer,
  pidOfDsync,
  residentBytes,
  tombstoneRecord,
} from "./_hostile_peer.ts";

const rounds = Number(Deno.args[0] ?? 4);
const heapMb = Number(Deno.args[1] ?? 400);
const PAUSE_MS = Number(Deno.args[2] ?? 4_000);
/** "node_modules" puts every path under an ignored folder (dropped at the edge). */
const PREFIX = Deno.args[3] ?? "cap";
const root = await Deno.makeTempDir({ prefix: "dsync-hostile-probe-" });
await Deno.mkdir(`${root}/v`);
await Deno.mkdir(`${root}/c`);
const port = freePort();
const victim = new DsyncProcess(
  ["-d", `${root}/v`, "-p", String(port), "--no-discovery"],
  {
    env: isolatedEnv(`${root}/c`),
    permissions: [
      `--v8-flags=--max-semi-space-size=4,--max-old-space-size=${heapMb}`,
      ...RUN_PERMISSIONS.filter((flag) => !flag.startsWith("--v8-flags")),
    ],
  },
);
try {
  await victim.waitForOutput(/Listening/);
  const pid = pidOfDsync(`${root}/v`);
  const mib = () => (residentBytes(pid) / 1048576).toFixed(0);
  console.log(`start: ${mib()} MiB`);
  const peer = await HostilePeer.start(port);
  const version = [];
  for (let r = 1; r <= 256; r++) {
    version.push({ replica: BigInt(r) << 55n, counter: 1n });
  }
  for (let round = 0; round < rounds; round++) {
    const records = [];
    for (let i = 0; i < 2400; i++) {
      let path = `${PREFIX}/${round}/${i}`;
      while (path.length < 3900) path += "/" + "c".repeat(250);
      records.push(tombstoneRecord(path, peer.nextSequence(), version));
    }
    const started = Date.now();
    await peer.send({ type: "index_batch", last: true, records });
    const last = peer.sequence;
    await peer.waitFor(
      () =>
        peer.received.some((m) =>
          m.type === "index_ack" && m.sequence === last
        ),
      `the ack of round ${round}`,
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    console.log(
      `round ${round}: acked in ${
        Date.now() - started - 4_000
      } ms, ${mib()} MiB`,
    );
  }
  await peer.close();
} catch (err) {
  console.log(String(err));
  console.log(victim.output.slice(-2_000));
} finally {
  await victim.stop("SIGKILL");
  await Deno.remove(root, { recursive: true });
}
