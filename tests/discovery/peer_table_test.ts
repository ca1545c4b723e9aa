import { assert, assertEquals } from "../assert.ts";
import {
  DUD_MS,
  MAX_ENTRY_TTL,
  PeerTable,
} from "../../src/discovery/peer_table.ts";
import type { DiscoveredService } from "../../src/discovery/service_records.ts";

function service(
  idByte: number,
  over: Partial<DiscoveredService> = {},
): DiscoveredService {
  return {
    id: new Uint8Array(32).fill(idByte),
    instance: `peer${idByte}._dsync._tcp.local`,
    name: `peer${idByte}`,
    host: `host${idByte}.local`,
    addresses: ["10.0.0.1"],
    port: 22000,
    ttl: 120,
    tag: undefined,
    joinable: false,
    ...over,
  };
}

Deno.test("PeerTable.observe() reports new, refreshed and updated peers", () => {
  let now = 0;
  const table = new PeerTable({ now: () => now });
  assertEquals(table.observe(service(1)).kind, "new");
  now = 1_000;
  assertEquals(table.observe(service(1)).kind, "refreshed");
  assertEquals(
    table.observe(service(1, { addresses: ["10.0.0.1", "10.0.0.2"] })).kind,
    "updated",
  );
  assertEquals(
    table.observe(service(1, { addresses: ["10.0.0.2", "10.0.0.1"] })).kind,
    "refreshed",
  );
  const moved = table.observe(service(1, { port: 22001 }));
  assertEquals(moved.kind, "updated");
  if (moved.kind === "updated") assertEquals(moved.peer.port, 22001);
  assertEquals(table.size, 1);
});

Deno.test("PeerTable.expire() drops peers whose TTL ran out", () => {
  let now = 0;
  const table = new PeerTable({ now: () => now });
  table.observe(service(1, { ttl: 10 }));
  table.observe(service(2, { ttl: 100 }));
  assertEquals(table.nextExpiryMs(), 10_000);
  now = 9_999;
  assertEquals(table.expire(), []);
  now = 10_000;
  const gone = table.expire();
  assertEquals(gone.map((p) => p.name), ["peer1"]);
  assertEquals(table.peers().map((p) => p.name), ["peer2"]);
  // A refresh pushes expiry out again.
  now = 90_000;
  table.observe(service(2, { ttl: 100 }));
  now = 150_000;
  assertEquals(table.expire(), []);
  now = 190_000;
  assertEquals(table.expire().length, 1);
  assertEquals(table.nextExpiryMs(), undefined);
});

Deno.test("PeerTable.goodbye() removes the peer of that instance", () => {
  const table = new PeerTable({ now: () => 0 });
  table.observe(service(1));
  table.observe(service(2));
  assertEquals(table.goodbye("unknown._dsync._tcp.local"), []);
  const gone = table.goodbye("peer1._dsync._tcp.local");
  assertEquals(gone.map((p) => p.id[0]), [1]);
  assertEquals(table.size, 1);
});

Deno.test("PeerTable.observe() stays bounded under a flood of new ids", () => {
  const table = new PeerTable({ maxPeers: 8, now: () => 0 });
  let rejected = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = new Uint8Array(32);
    new DataView(id.buffer).setUint32(0, i);
    const o = table.observe(service(0, { id, instance: `p${i}` }));
    if (o.kind === "rejected") rejected++;
  }
  assertEquals(table.size, 8);
  assertEquals(rejected, 10_000 - 8);
  // Known peers are still refreshed when the table is full.
  const first = new Uint8Array(32);
  assertEquals(
    table.observe(service(0, { id: first, instance: "p0" })).kind,
    "refreshed",
  );
});

Deno.test("PeerTable caps honoured TTLs, so a fake entry cannot live 75 minutes", () => {
  let now = 0;
  const table = new PeerTable({ now: () => now });
  table.observe(service(1, { ttl: 4500 }), { source: "10.0.0.9" });
  assertEquals(table.nextExpiryMs(), MAX_ENTRY_TTL * 1000);
  now = MAX_ENTRY_TTL * 1000;
  assertEquals(table.expire().length, 1);
});

Deno.test("PeerTable honours a goodbye only from the address that announced the peer", () => {
  const table = new PeerTable({ now: () => 0 });
  table.observe(service(1), { source: "10.0.0.1" });
  assertEquals(table.goodbye("peer1._dsync._tcp.local", "10.0.0.66"), []);
  assertEquals(table.size, 1);
  const gone = table.goodbye("peer1._dsync._tcp.local", "10.0.0.1");
  assertEquals(gone.map((p) => p.id[0]), [1]);
});

Deno.test("PeerTable caps unverified entries per source and makes room for others, never dropping a verified one", () => {
  const table = new PeerTable({
    maxPeers: 6,
    maxUnverifiedPerSource: 4,
    now: () => 0,
  });
  const verdicts = [];
  for (let i = 1; i <= 6; i++) {
    verdicts.push(table.observe(service(i), { source: "10.9.9.9" }).kind);
  }
  assertEquals(verdicts, ["new", "new", "new", "new", "rejected", "rejected"]);
  table.observe(service(20), { source: "10.0.0.2", verified: true });
  table.observe(service(21), { source: "10.0.0.3" });
  assertEquals(table.size, 6);
  // Full: a newcomer from a fresh address takes a seat of the busiest one.
  assertEquals(table.observe(service(22), { source: "10.0.0.4" }).kind, "new");
  const ids = () => table.peers().map((p) => p.id[0]).sort((a, b) => a! - b!);
  assertEquals(ids(), [2, 3, 4, 20, 21, 22]);
  // A verified newcomer may take a seat even from an address with little.
  for (let i = 30; i < 40; i++) {
    table.observe(service(i), { source: "10.0.0.5", verified: true });
  }
  assertEquals(table.size, 6);
  assert(ids().includes(20), "the verified entry stays");
  // Someone else cannot move a verified entry.
  assertEquals(
    table.observe(service(20, { port: 1 }), { source: "10.6.6.6" }).kind,
    "rejected",
  );
});

Deno.test("PeerTable.fail() drops a peer; an unverified id is refused for a while, a verified one comes back at its next announcement", () => {
  let now = 0;
  const table = new PeerTable({ now: () => now });
  table.observe(service(1), { source: "10.0.0.1" });
  table.observe(service(2), { source: "10.0.0.2" });
  table.verify(new Uint8Array(32).fill(2));
  assertEquals(table.fail(new Uint8Array(32).fill(1))?.name, "peer1");
  assertEquals(table.fail(new Uint8Array(32).fill(2))?.name, "peer2");
  assertEquals(table.size, 0);
  assertEquals(
    table.observe(service(1), { source: "10.0.0.1" }).kind,
    "rejected",
  );
  assertEquals(table.observe(service(2), { source: "10.0.0.2" }).kind, "new");
  now = DUD_MS;
  assertEquals(table.observe(service(1), { source: "10.0.0.1" }).kind, "new");
});
