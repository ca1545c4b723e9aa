/**
 * Issue #19: a peer that stays connected (its channel answers pings) but
 * never answers a chunk request kept its pulls, their transfer slots and
 * chunk lists for as long as it stayed, and a file it announced never
 * arrived even when an honest peer had the same bytes. Here a hostile
 * peer announces a 3 MiB file to v and serves none of it; a second
 * connection of the same hostile replica gives the file to l, so l has
 * the same version and becomes a source for v too. After the stall
 * window (`STALL_MS`, 25 s) v gives the silent peer's chunks to l, the
 * file arrives byte-identical, and v says why in one line.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { HonestPair } from "./_honest_pair.ts";
import { fileRecordOf, HostilePeer } from "./_hostile_peer.ts";
import { randomBytes } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { digestBytes } from "../../src/index/file_digest.ts";
import { STALL_MS } from "../../src/sync/pull/source_stalls.ts";

Deno.test("silent source: a file a connected peer never serves arrives from an honest peer that has it, and the victim says why", async () => {
  await using pair = await HonestPair.start("dsync-silent-", {
    path: "first.txt",
    text: "hello\n",
  });
  const data = randomBytes(3 << 20, 19);
  const digest = digestBytes(data);
  const replicaId = 0x5eed_0000_0000_0019n;
  const record = (peer: HostilePeer) => ({
    ...fileRecordOf("shared.bin", data, peer.nextSequence(), replicaId),
    hash: digest.hash,
    chunks: digest.chunks.map((c) => ({ length: c.length, hash: c.hash })),
  });
  let silent: HostilePeer | undefined;
  let serving: HostilePeer | undefined;
  try {
    // To v: announced, never served (the connection stays alive).
    silent = await HostilePeer.start(pair.ports.v, { replicaId });
    silent.files.set("shared.bin", { data, mode: "silent" });
    const s = silent;
    await s.sendRecords([record(s)]);
    await s.waitFor(() => s.requests > 0, "v to ask the silent peer", 30_000);
    const asked = Date.now();
    // To l: the same version, served; l becomes a second source for v.
    serving = await HostilePeer.start(pair.ports.l, { replicaId });
    serving.files.set("shared.bin", { data, mode: "correct" });
    await serving.sendRecords([record(serving)]);
    await waitFor(
      async () =>
        (await Deno.readFile(`${pair.dir("l")}/shared.bin`).catch(() =>
          undefined
        ))?.length === data.length,
      "shared.bin to reach l",
      30_000,
    );
    await waitFor(
      async () =>
        (await Deno.readFile(`${pair.dir("v")}/shared.bin`).catch(() =>
          undefined
        ))?.length === data.length,
      "shared.bin to reach v from l",
      STALL_MS + 60_000,
    );
    const arrivedMs = Date.now() - asked;
    assertEquals(await Deno.readFile(`${pair.dir("v")}/shared.bin`), data);
    const log = pair.proc("v").output;
    const said = log.split("\n").filter((line) =>
      line.includes("stays connected but has not answered chunk requests")
    );
    assertEquals(said.length, 1, log.slice(-3000));
    assert(said[0]!.includes("hostile"), said[0]);
    assert(s.open, "the silent peer's connection is still alive");
    console.log(
      `shared.bin reached v ${arrivedMs} ms after v first asked the silent peer (${s.requests} requests to it); v said: ${
        said[0]!.slice(0, 200)
      }`,
    );
  } catch (err) {
    console.log(pair.proc("v").output.slice(-3000));
    throw err;
  } finally {
    await silent?.close().catch(() => {});
    await serving?.close().catch(() => {});
  }
});
