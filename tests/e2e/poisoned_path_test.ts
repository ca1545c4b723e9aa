/**
 * Left open by point 1 of issue #19: a path poisoned before the counter
 * rule. V had stored a version of `shared.txt` giving L's replica a
 * counter of 2^52 + 5 (no device accepts that any more), so L refused V's
 * record and V took L's later edits for older than its own: the two stayed
 * apart on that path for good. The poisoned version is written into V's
 * index while V is stopped (as an older dsync left it); then L edits. V
 * repairs its record (the counters no device accepts dropped, one change
 * of its own added), both resolve the path as a conflict the same way,
 * and edits cross both ways again, each within 10 s.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "../assert.ts";
import { HonestPair } from "./_honest_pair.ts";
import { HostilePeer } from "./_hostile_peer.ts";
import { waitFor } from "../_wait.ts";
import {
  decodeVersion,
  encodeVersion,
  versionOf,
} from "../../src/index/version_vector.ts";

async function contentOf(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

async function names(folder: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(folder)) {
    if (!e.name.startsWith(".")) out.push(e.name);
  }
  return out.sort();
}

Deno.test("poisoned path: a version stored before the counter rule is repaired, and the devices converge through a conflict", async () => {
  await using pair = await HonestPair.start("dsync-poisoned-", {
    path: "shared.txt",
    text: "first\n",
  });
  const { root, ports: { l: portL } } = pair;
  const v = pair.proc("v");
  const spy = await HostilePeer.start(portL);
  const replicaL = (await spy.hello()).replicaId;
  await spy.close();

  // V as a dsync from before the rule left it: L's counter past 2^52.
  await v.stop("SIGTERM");
  const db = new DatabaseSync(`${root}/v/.dsync/index.db`);
  try {
    const row = db.prepare("SELECT version FROM files WHERE path = ?").get(
      "shared.txt",
    ) as { version: Uint8Array };
    const entries = decodeVersion(row.version).map((e) =>
      [e.replica, e.counter] as [bigint, number]
    );
    entries.push([replicaL, 2 ** 52 + 5], [0x1234n, 1]);
    db.prepare("UPDATE files SET version = ? WHERE path = ?").run(
      encodeVersion(versionOf(entries)),
      "shared.txt",
    );
  } finally {
    db.close();
  }
  const v2 = pair.start("v");
  await v2.waitForOutput(/Connected to peer/, 30_000);

  await Deno.writeTextFile(`${root}/l/shared.txt`, "edited on l\n");
  await waitFor(
    async () => await contentOf(`${root}/v/shared.txt`) === "edited on l\n",
    () => `l's edit to reach v; v said:\n${v2.output.slice(-1500)}`,
    10_000,
  );
  await v2.waitForOutput(/held a version counter no device accepts/);
  await Deno.writeTextFile(`${root}/v/shared.txt`, "edited on v\n");
  await waitFor(
    async () => await contentOf(`${root}/l/shared.txt`) === "edited on v\n",
    "v's edit to reach l",
    10_000,
  );
  // Converged: the same names on both sides (a conflict copy at most).
  await waitFor(
    async () =>
      JSON.stringify(await names(`${root}/l`)) ===
        JSON.stringify(await names(`${root}/v`)),
    "the same files on both sides",
    10_000,
  );
  const left = await names(`${root}/l`);
  assertEquals(
    left.filter((n) => n !== "shared.txt").every((n) =>
      n.includes("sync-conflict")
    ),
    true,
  );
});
