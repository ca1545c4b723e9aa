/**
 * Real packets from avahi-daemon 0.8 (captured in a private network
 * namespace, see `_avahi_packets.ts`) through dsync's parsing path.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import {
  asksForService,
  parseServicePacket,
} from "../../src/discovery/service_records.ts";
import { decodeDnsMessage } from "../../src/discovery/mdns_socket.ts";
import { claimOf } from "../../src/discovery/name_conflict.ts";
import { peerIdHex } from "../../src/identity/mod.ts";
import { AVAHI_ID, avahiPacket } from "./_avahi_packets.ts";

const INSTANCE = "avahi box._dsync._tcp.local";

Deno.test("parseServicePacket() reads Avahi's announcement of a dsync service", () => {
  const parsed = parseServicePacket(avahiPacket("dsync_announce"));
  assertEquals(parsed.length, 1);
  const r = parsed[0]!;
  assert(r.kind === "service", JSON.stringify(r));
  assertEquals(peerIdHex(r.service.id), AVAHI_ID);
  assertEquals(r.service.instance, INSTANCE);
  assertEquals(r.service.name, "avahi box");
  assertEquals(r.service.host, "avahi-test.local");
  assertEquals(r.service.port, 22000);
  assert(r.service.addresses.includes("10.9.9.1"));
  // Avahi sends TXT and PTR with TTL 4500 and SRV with 120: the least counts.
  assertEquals(r.service.ttl, 120);
});

Deno.test("parseServicePacket() reads Avahi's goodbye and ignores its other types", () => {
  assertEquals(parseServicePacket(avahiPacket("dsync_goodbye")), [
    { kind: "goodbye", instance: INSTANCE },
  ]);
  // An _http._tcp service that even carries dsync-like TXT is not ours.
  assertEquals(
    parseServicePacket(avahiPacket("http_announce_with_dsync_txt")),
    [],
  );
  assertEquals(parseServicePacket(avahiPacket("http_goodbye")), []);
  for (const q of ["dsync_probe", "http_probe", "dsync_browse_query"]) {
    assertEquals(parseServicePacket(avahiPacket(q)), [], q);
  }
});

Deno.test("asksForService() and claimOf() read Avahi's queries and probes", () => {
  const browse = decodeDnsMessage(avahiPacket("dsync_browse_query"));
  assert(asksForService(browse));
  const probe = decodeDnsMessage(avahiPacket("dsync_probe")) as {
    authorities: unknown[];
  };
  assert(asksForService(probe, [INSTANCE]));
  assertEquals(claimOf([probe.authorities], INSTANCE, "00"), {
    kind: "other",
    id: AVAHI_ID,
  });
  assertEquals(claimOf([probe.authorities], INSTANCE, AVAHI_ID), {
    kind: "none",
  });
  const http = decodeDnsMessage(avahiPacket("http_probe"));
  assert(!asksForService(http, ["laptop._dsync._tcp.local"]));
});
