/**
 * Child process for discovery_test.ts, run inside a private network
 * namespace: two Discovery instances find each other, then one says goodbye.
 * Prints one JSON line with what was observed.
 * @module
 */
import { waitFor as poll } from "../_wait.ts";
import { Identity, peerIdHex } from "../../src/identity/mod.ts";
import { Discovery } from "../../src/discovery/mod.ts";
import type { DiscoveredPeer } from "../../src/discovery/mod.ts";

const DEADLINE_MS = 15_000;

function waitFor(cond: () => boolean, what: string): Promise<void> {
  return poll(cond, what, DEADLINE_MS, 50);
}

const idA = Identity.generate();
const idB = Identity.generate();
const a = new Discovery({
  name: "node-a",
  host: "host-a",
  port: 22001,
  peerId: idA.publicKey,
});
const b = new Discovery({
  name: "node-b",
  host: "host-b",
  port: 22002,
  peerId: idB.publicKey,
});
const seenByA: DiscoveredPeer[] = [];
const seenByB: DiscoveredPeer[] = [];
const lostByA: DiscoveredPeer[] = [];
a.on("peer", (p) => seenByA.push(p));
b.on("peer", (p) => seenByB.push(p));
a.on("lost", (p) => lostByA.push(p));
const result: Record<string, unknown> = {};
try {
  a.start();
  b.start();
  await waitFor(
    () => seenByA.length > 0 && seenByB.length > 0,
    "mutual discovery",
  );
  const show = (p: DiscoveredPeer) => ({
    id: peerIdHex(p.id),
    name: p.name,
    port: p.port,
    addresses: p.addresses,
  });
  result.seenByA = seenByA.map(show);
  result.seenByB = seenByB.map(show);
  result.idA = peerIdHex(idA.publicKey);
  result.idB = peerIdHex(idB.publicKey);
  await b.close();
  await waitFor(() => lostByA.length > 0, "goodbye");
  result.lostByA = lostByA.map(show);
} catch (err) {
  result.error = String(err);
} finally {
  await a.close();
  await b.close();
}
console.log(JSON.stringify(result));
