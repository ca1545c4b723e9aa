/**
 * Point 4 of issue #19: a peer sending deletions of paths that never
 * existed (500,000 of them grew the victim's index to 153 MB and, passed
 * on, the honest peer's to 152 MB). Now such tombstones are neither stored
 * nor passed on: both indexes stay small, and a file from the honest peer
 * still arrives.
 * @module
 */
import { assert } from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv } from "./_dsync.ts";
import { HostilePeer, tombstoneRecord } from "./_hostile_peer.ts";
import { randomBytes } from "./_folders.ts";
import { waitFor } from "../_wait.ts";

const TOMBSTONES = 40_960;
const BATCH = 4_096;

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

Deno.test("index flood: deletions of paths no one had are not stored nor passed on, and sync goes on", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-flood-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  let peer: HostilePeer | undefined;
  try {
    for (const d of ["v", "l", "home"]) await Deno.mkdir(`${root}/${d}`);
    await Deno.writeTextFile(`${root}/l/first.txt`, "hello\n");
    const [portV, portL] = [freePort(), freePort()];
    const start = (name: string, port: number, other: number) =>
      new DsyncProcess([
        "-d",
        `${root}/${name}`,
        "-n",
        name,
        "-p",
        String(port),
        "--no-discovery",
        "-a",
        `127.0.0.1:${other}`,
      ], { env });
    nodes.push(start("v", portV, portL), start("l", portL, portV));
    await waitFor(
      async () =>
        await Deno.readTextFile(`${root}/v/first.txt`).catch(() => "") ===
          "hello\n",
      "first.txt to reach v",
      30_000,
    );
    const before = { v: indexBytes(`${root}/v`), l: indexBytes(`${root}/l`) };
    peer = await HostilePeer.start(portV);
    const p = peer;
    const name = (i: number) => `never/existed/${"x".repeat(150)}-${i}.txt`;
    for (let start = 0; start < TOMBSTONES; start += BATCH) {
      const records = [];
      for (let i = start; i < start + BATCH; i++) {
        records.push(
          tombstoneRecord(name(i), p.nextSequence(), [
            { replica: p.replicaId, counter: 1n },
          ]),
        );
      }
      await p.sendRecords(records);
    }
    await p.waitFor(
      () =>
        p.received.some((m) =>
          m.type === "index_ack" && m.sequence === BigInt(TOMBSTONES)
        ),
      "every batch acknowledged",
      60_000,
    );
    // A 10 KiB file from the honest peer still arrives.
    const data = randomBytes(10 * 1024, 3);
    await Deno.writeFile(`${root}/l/after.bin`, data);
    await waitFor(
      async () => {
        const got = await Deno.readFile(`${root}/v/after.bin`).catch(() =>
          undefined
        );
        return got !== undefined && got.length === data.length;
      },
      "after.bin to reach v",
      30_000,
    );
    const grown = {
      v: indexBytes(`${root}/v`) - before.v,
      l: indexBytes(`${root}/l`) - before.l,
    };
    // 40,960 tombstones of ~180-byte paths would take ~10 MB.
    assert(grown.v < 2_000_000, `victim's index grew by ${grown.v} bytes`);
    assert(grown.l < 2_000_000, `honest peer's index grew by ${grown.l} bytes`);
  } finally {
    await peer?.close().catch(() => {});
    await Promise.allSettled(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
