/**
 * Block deltas between real dsync processes (issue #21, "Deltas"): a
 * 1 MiB overwrite in a 64 MiB synced file costs about the bytes it
 * changed on the wire, not the ~18 whole chunks around it, and the file
 * arrives byte-identical. The fallbacks (blocks that do not assemble, a
 * peer without the flag) are proven in tests/sync/pull/block_fetch_test.ts
 * and tests/sync/session/block_requests_test.ts.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import type { StatusDocument } from "../../src/node/mod.ts";
import { isolatedEnv, runDsync } from "./_dsync.ts";
import { randomBytes, SyncPair, writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";

const MiB = 1024 * 1024;

/** Chunk bytes `dir`'s node has received from peers, as on the wire. */
async function bytesReceived(
  dir: string,
  env: Record<string, string>,
): Promise<number> {
  let received = -1;
  await waitFor(
    async () => {
      const run = await runDsync(["status", "-d", dir, "--json"], { env });
      if (run.code !== 0) return false;
      received = (JSON.parse(run.stdout) as StatusDocument).bytesReceived;
      return true;
    },
    `the status of ${dir}`,
    15_000,
    200,
  );
  return received;
}

Deno.test("block delta: a 1 MiB overwrite in a 64 MiB file costs about 1 MiB on the wire and arrives byte-identical", async () => {
  await using pair = await SyncPair.create();
  const env = isolatedEnv(`${pair.root}/home`);
  await writeTree(pair.a.dir, { "big.bin": randomBytes(64 * MiB, 11) });
  pair.start(pair.a);
  pair.start(pair.b, ["-v"]);
  await pair.connected();
  const before = await pair.identical({ timeoutMs: 60_000 });
  const start = await bytesReceived(pair.b.dir, env);
  assert(start >= 64 * MiB, `the first pull took ${start} bytes`);
  const patch = randomBytes(MiB, 12);
  {
    using file = await Deno.open(`${pair.a.dir}/big.bin`, { write: true });
    await file.seek(20 * MiB + 12_345, Deno.SeekMode.Start);
    for (let done = 0; done < patch.length;) {
      done += await file.write(patch.subarray(done));
    }
  }
  const after = await pair.identical({
    timeoutMs: 60_000,
    check: (s) => s.get("big.bin") !== before.get("big.bin"),
  });
  assert(after.get("big.bin") !== before.get("big.bin"));
  const delta = (await bytesReceived(pair.b.dir, env)) - start;
  // Whole chunks cost ~1.4 MB for this change; blocks cost the 1 MiB and
  // at most one partial 4 KiB block at each end of each chunk touched.
  assert(delta >= MiB, `${delta} bytes received for 1 MiB changed`);
  assert(delta <= 1.2 * MiB, `${delta} bytes received for 1 MiB changed`);
  const receiver = pair.b.proc!;
  assertEquals(await pair.stop(pair.b), 0);
  assert(
    /Building "?big\.bin"? from a copy of its current version/.test(
      receiver.output,
    ),
    receiver.output.slice(-4000),
  );
});
