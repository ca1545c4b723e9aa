/**
 * Point 4 of issue #19: a peer sending deletions of paths that never
 * existed (500,000 of them, 30 MB in 25 s, grew the victim's index to 153
 * MB and, passed on, the honest peer's to 152 MB; RSS 358 MB; a legitimate
 * file took 91 s to arrive). The same flood starts here at full size
 * against a real instance while an honest peer writes a 10 KiB file: such
 * tombstones are neither stored nor passed on, the attacker's intake is
 * held to its per-minute quota (checked, then the attacker is sent away
 * rather than waited out for 8 minutes), the file arrives, and the
 * victim stays small. Before the quota the victim read nothing but the
 * flood: its honest peer closed the connection as dead after 8.5 s and
 * the file had not arrived after 30 s.
 * @module
 */
import { assert } from "../assert.ts";
import { HonestPair } from "./_honest_pair.ts";
import {
  HostilePeer,
  pidOfDsync,
  residentBytes,
  tombstoneRecord,
} from "./_hostile_peer.ts";
import { randomBytes } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { NEVER_SEEN_PER_MINUTE } from "../../src/sync/session/intake_quota.ts";

const TOMBSTONES = Number(Deno.env.get("DSYNC_FLOOD_TOMBSTONES") ?? 500_000);
const BATCH = 4_096;
const MIB = 1024 * 1024;

function indexBytes(folder: string): number {
  let total = 0;
  for (const name of ["index.db", "index.db-wal"]) {
    try {
      total += Deno.statSync(`${folder}/.dsync/${name}`).size;
    } catch {
      // No WAL right now.
    }
  }
  return total;
}

Deno.test("index flood: 500,000 deletions of paths no one had are not stored nor passed on, and a file still crosses", async () => {
  await using pair = await HonestPair.start("dsync-flood-", {
    path: "first.txt",
    text: "hello\n",
  });
  const { root, ports: { v: portV } } = pair;
  let peer: HostilePeer | undefined;
  let flooding = true;
  try {
    const before = { v: indexBytes(`${root}/v`), l: indexBytes(`${root}/l`) };
    const pid = pidOfDsync(`${root}/v`);
    let peakRss = residentBytes(pid);
    const sampler = (async () => {
      while (flooding) {
        try {
          peakRss = Math.max(peakRss, residentBytes(pid));
        } catch {
          return; // the victim is gone: the checks below say so
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    peer = await HostilePeer.start(portV);
    const p = peer;
    // ~60 bytes a record on the wire: 500,000 of them are 30 MB.
    const name = (i: number) => `never/existed/${i.toString(36)}-flood.txt`;
    const floodStarted = Date.now();
    const flood = (async () => {
      for (let at = 0; at < TOMBSTONES && p.open; at += BATCH) {
        const records = [];
        for (let i = at; i < Math.min(TOMBSTONES, at + BATCH); i++) {
          records.push(
            tombstoneRecord(name(i), p.nextSequence(), [
              { replica: p.replicaId, counter: 1n },
            ]),
          );
        }
        await p.sendRecords(records);
      }
    })().catch((err) => {
      // Sends in progress fail once the test ends the connection.
      if (p.open) throw err;
    });
    await p.waitFor(
      () => p.received.some((m) => m.type === "index_ack" && m.sequence > 0n),
      "the first flood batch acknowledged",
      30_000,
    );
    // A 10 KiB file from the honest peer, written during the flood.
    const data = randomBytes(10 * 1024, 3);
    const written = Date.now();
    await Deno.writeFile(`${root}/l/during.bin`, data);
    await waitFor(
      async () => {
        const got = await Deno.readFile(`${root}/v/during.bin`).catch(() =>
          undefined
        );
        return got !== undefined && got.length === data.length;
      },
      "during.bin to reach v while flooded",
      30_000,
    );
    const crossedMs = Date.now() - written;
    const ackedDuring = p.ackedSequence();
    // The victim reads the flood no faster than its quota: a minute's worth
    // at once, then 1,000 a second (plus the batch that went into debt).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const elapsedMs = Date.now() - floodStarted;
    const acked = Number(p.ackedSequence());
    const allowed = NEVER_SEEN_PER_MINUTE +
      NEVER_SEEN_PER_MINUTE * elapsedMs / 60_000 + BATCH;
    await p.close();
    flooding = false;
    await sampler;
    await flood;
    const grown = {
      v: indexBytes(`${root}/v`) - before.v,
      l: indexBytes(`${root}/l`) - before.l,
    };
    console.log(
      `flood of ${TOMBSTONES}: ${acked} taken in after ${elapsedMs} ms; ` +
        `10 KiB file crossed in ${crossedMs} ms (${ackedDuring} acked then); ` +
        `victim peak RSS ${(peakRss / MIB).toFixed(0)} MiB; ` +
        `index growth v ${grown.v} B, l ${grown.l} B`,
    );
    // 500,000 tombstones took 153 MB before.
    assert(grown.v < 2_000_000, `victim's index grew by ${grown.v} bytes`);
    assert(grown.l < 2_000_000, `honest peer's index grew by ${grown.l} bytes`);
    assert(acked <= allowed, `${acked} taken in, over the quota of ${allowed}`);
    assert(acked < TOMBSTONES, "the whole flood was taken in at once");
    assert(
      peakRss < 300 * MIB,
      `victim's RSS reached ${(peakRss / MIB).toFixed(0)} MiB`,
    );
  } catch (err) {
    console.log(pair.proc("v").output.slice(-3000));
    console.log(pair.proc("l").output.slice(-2000));
    throw err;
  } finally {
    flooding = false;
    await peer?.close().catch(() => {});
  }
});
