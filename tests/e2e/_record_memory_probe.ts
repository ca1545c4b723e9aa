/**
 * Memory probe (the full size of `record_memory_test.ts`; point 5 of issue #19): records at
 * the 448K-chunk maximum pushed a victim from 485 MB to about 3.1 GB RSS
 * after 8 records. A hostile peer announces `records` such files (each
 * record one 15 MB message, encoded before connecting) and never serves a
 * chunk of them, while an honest peer writes a 10 KiB file; the victim's
 * peak RSS is printed.
 *
 *   deno run -A tests/e2e/_record_memory_probe.ts [records=8]
 *
 * Run on 2026-12-07 (2 cores, shared): the victim went silent at the first
 * records (its honest peer closed the connection as dead after 14.7 s),
 * and a V8 heap of 4 GB was full after 9 minutes ("Mark-Compact 4092 MB,
 * allocation failure"); the 10 KiB file never arrived. With compact chunk
 * lists, the per-peer chunk budget and bounded pulls (same day, load
 * 11-18 on 2 cores): all 8 taken in over 85 s, 1,024 chunk requests in
 * flight, the 10 KiB file crossed in 399 ms, victim RSS 93 -> peak 340 MiB.
 * With one list at the cap in flight at a time, messages allocated once,
 * and the stall rule (`src/sync/pull/source_stalls.ts`): peak 239 MiB at
 * load 21 (8 records through `record_memory_test.ts`,
 * `DSYNC_BIG_RECORDS=8`); before that last step, whose retries re-read
 * each 20 MB list, this probe measured 527 MiB.
 * @module
 */
import { HonestPair } from "./_honest_pair.ts";
import { HostilePeer, pidOfDsync, residentBytes } from "./_hostile_peer.ts";
import { randomBytes } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { bigRecordMessages } from "./_big_records.ts";
import { MAX_CHUNKS_PER_RECORD } from "../../src/protocol/mod.ts";

const RECORDS = Number(Deno.args[0] ?? 8);
const MIB = 1024 * 1024;

{
  await using pair = await HonestPair.start("dsync-bigrec-", {
    path: "first.txt",
    text: "hello\n",
  });
  const { root, ports: { v: portV } } = pair;
  let peer: HostilePeer | undefined;
  let sampling = true;
  try {
    const pid = pidOfDsync(`${root}/v`);
    const startRss = residentBytes(pid);
    let peakRss = startRss;
    const sampler = (async () => {
      while (sampling) {
        try {
          peakRss = Math.max(peakRss, residentBytes(pid));
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const replicaId = 0x5eed_0000_0000_0001n;
    const messages = bigRecordMessages(RECORDS, replicaId);
    peer = await HostilePeer.start(portV, { replicaId });
    const p = peer;
    for (let r = 0; r < RECORDS; r++) {
      p.files.set(`big-${r}.bin`, { data: new Uint8Array(0), mode: "silent" });
    }
    const sendStarted = Date.now();
    for (const message of messages) await p.sendRaw(message);
    const sentMs = Date.now() - sendStarted;
    await p.waitFor(
      () =>
        p.received.some((m) =>
          m.type === "index_ack" && m.sequence === BigInt(RECORDS)
        ),
      "every big record acknowledged",
      120_000,
    );
    await p.waitFor(() => p.requests > 0, "a chunk request", 60_000);
    // A 10 KiB file from the honest peer still arrives meanwhile.
    const data = randomBytes(10 * 1024, 5);
    const written = Date.now();
    await Deno.writeFile(`${root}/l/during.bin`, data);
    await waitFor(
      async () =>
        (await Deno.readFile(`${root}/v/during.bin`).catch(() => undefined))
          ?.length === data.length,
      "during.bin to reach v",
      30_000,
    );
    const crossedMs = Date.now() - written;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    sampling = false;
    await sampler;
    console.log(
      `${RECORDS} records of ${MAX_CHUNKS_PER_RECORD} chunks (sent in ${sentMs} ms): victim RSS ${
        (startRss / MIB).toFixed(0)
      } -> peak ${
        (peakRss / MIB).toFixed(0)
      } MiB; ${p.requests} chunk requests; 10 KiB file crossed in ${crossedMs} ms`,
    );
  } catch (err) {
    console.log(String(err));
    console.log(pair.proc("v").output.slice(-2500));
  } finally {
    sampling = false;
    await peer?.close().catch(() => {});
  }
}
