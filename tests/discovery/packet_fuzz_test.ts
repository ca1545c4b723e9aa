/**
 * Seeded, bounded fuzzing of the mDNS receive path: random bytes and
 * mutations of real packets (Avahi captures and our own) must come out as
 * drops, problems or valid services, never as a crash or an unnamed throw.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import {
  asksForService,
  buildServiceRecords,
  MAX_ADDRESSES,
  parseServicePacket,
  parseServiceResponse,
  SERVICE_TYPE,
} from "../../src/discovery/service_records.ts";
import {
  decodeDnsMessage,
  type DnsMessage,
  encodeDnsMessage,
} from "../../src/discovery/mdns_socket.ts";
import { claimOf } from "../../src/discovery/name_conflict.ts";
import { Discovery } from "../../src/discovery/mod.ts";
import { Identity, peerIdHex } from "../../src/identity/mod.ts";
import { AVAHI_PACKETS, avahiPacket } from "./_avahi_packets.ts";
import { FakeSocket } from "./_fake_socket.ts";

const SEED = 0x5eed_d5c;
const RANDOM_PACKETS = 800;
const MUTATED_PACKETS = 2_500;

/** xorshift32: small, seeded, reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const ME = Identity.generate().publicKey;

function seeds(): Uint8Array[] {
  const self = {
    name: "laptop",
    host: "laptop-host",
    port: 22000,
    peerId: ME,
    ipv4: ["10.0.0.1", "192.168.1.2"],
    ipv6: ["fd00::1"],
  };
  const own: DnsMessage[] = [
    { type: "response", flags: 0x8400, answers: buildServiceRecords(self) },
    { type: "response", flags: 0x8400, answers: buildServiceRecords(self, 0) },
    { type: "query", questions: [{ name: SERVICE_TYPE, type: "PTR" }] },
    {
      type: "query",
      questions: [{ name: "laptop._dsync._tcp.local", type: "ANY" }],
      authorities: buildServiceRecords(self).slice(1, 3),
    },
  ];
  return [
    ...AVAHI_PACKETS.map(avahiPacket),
    ...own.map(encodeDnsMessage),
  ];
}

function mutate(base: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  let out = base.slice();
  const steps = 1 + pick(4);
  for (let s = 0; s < steps; s++) {
    const at = pick(Math.max(out.length, 1));
    switch (pick(7)) {
      case 0: // flip a bit
        if (out.length > 0) out[at] = out[at]! ^ (1 << pick(8));
        break;
      case 1: // set a byte to an edge value
        if (out.length > 0) out[at] = [0, 0xff, 0x3f, 0x40, 0xc0][pick(5)]!;
        break;
      case 2: // truncate
        out = out.subarray(0, at);
        break;
      case 3: // inflate a header count
        if (out.length >= 12) out[4 + pick(8)] = pick(256);
        break;
      case 4: // a compression pointer, maybe to itself
        if (out.length > at + 1) {
          out[at] = 0xc0 | pick(0x40);
          out[at + 1] = rand() < 0.5 ? at & 0xff : pick(256);
        }
        break;
      case 5: { // duplicate a slice
        const len = pick(40);
        const copy = out.slice(at, at + len);
        const grown = new Uint8Array(out.length + copy.length);
        grown.set(out.subarray(0, at));
        grown.set(copy, at);
        grown.set(out.subarray(at), at + copy.length);
        out = grown;
        break;
      }
      default: { // append random bytes
        const extra = new Uint8Array(pick(64));
        for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
        const grown = new Uint8Array(out.length + extra.length);
        grown.set(out);
        grown.set(extra, out.length);
        out = grown;
      }
    }
  }
  return out.slice(0, 9000);
}

function checkPacket(bytes: Uint8Array, socket: FakeSocket): void {
  const parsed = parseServicePacket(bytes);
  assert(Array.isArray(parsed));
  for (const r of parsed) {
    if (r.kind === "service") {
      const s = r.service;
      assert(s.id.length === 32);
      assert(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535);
      assert(s.addresses.length <= MAX_ADDRESSES);
      assert(s.ttl >= 0 && s.ttl <= 4500);
    } else if (r.kind === "goodbye") {
      assert(r.instance.endsWith(`.${SERVICE_TYPE}`));
    } else {
      assert(r.kind === "problem" && typeof r.reason === "string");
    }
  }
  let msg: unknown;
  try {
    msg = decodeDnsMessage(bytes);
  } catch (error) {
    // A drop: the decoder may only throw real errors.
    assert(error instanceof Error, `non-Error thrown: ${String(error)}`);
    return;
  }
  parseServiceResponse(msg);
  asksForService(msg, ["laptop._dsync._tcp.local"]);
  const m = msg as Record<string, unknown>;
  claimOf(
    [m.answers, m.authorities, m.additionals],
    "laptop._dsync._tcp.local",
    peerIdHex(ME),
  );
  // The whole receive path of a running Discovery, from any source port.
  socket.emit(
    m.type === "query" ? "query" : "response",
    msg,
    { address: "10.0.0.9", port: bytes.length % 2 ? 5353 : 40000 },
  );
}

/** A started Discovery on `socket`, ready, holding at most `maxPeers`. */
function started(socket: FakeSocket, maxPeers: number): Discovery {
  const discovery = new Discovery({
    name: "laptop",
    host: "laptop-host",
    port: 22000,
    peerId: ME,
    interfaces: () => [],
    openSocket: () => socket,
    maxPeers,
  });
  discovery.start();
  socket.emit("ready");
  return discovery;
}

Deno.test("mDNS receive path survives seeded random and mutated packets", async () => {
  const rand = rng(SEED);
  const socket = new FakeSocket();
  const discovery = started(socket, 8);
  const base = seeds();
  try {
    for (let i = 0; i < RANDOM_PACKETS; i++) {
      const bytes = new Uint8Array(Math.floor(rand() * 600));
      for (let j = 0; j < bytes.length; j++) {
        bytes[j] = Math.floor(rand() * 256);
      }
      if (bytes.length > 3 && rand() < 0.5) bytes[2] = 0x84;
      checkPacket(bytes, socket);
    }
    for (let i = 0; i < MUTATED_PACKETS; i++) {
      const from = base[Math.floor(rand() * base.length)]!;
      const bytes = mutate(from, rand);
      try {
        checkPacket(bytes, socket);
      } catch (error) {
        throw new Error(
          `Seed ${SEED}, mutation ${i}: ${
            Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
          }`,
          { cause: error },
        );
      }
    }
    assert(discovery.peers().length <= 8);
    // Bounded output too: at most one unicast answer per packet.
    assert(socket.sent.length <= RANDOM_PACKETS + MUTATED_PACKETS + 20);
  } finally {
    await discovery.close();
  }
});

Deno.test("Discovery keeps its peer table bounded under a flood of announcers, and a real peer still gets in", async () => {
  const socket = new FakeSocket();
  const discovery = started(socket, 16);
  const announce = (i: number, source: string, ttl = 4500) =>
    socket.emit("response", {
      type: "response",
      answers: buildServiceRecords({
        name: `flood-${i}`,
        host: `h${i}`,
        port: 1 + i,
        peerId: Identity.generate().publicKey,
        ipv4: [source],
        ipv6: [],
      }, ttl),
    }, { address: source, port: 5353 });
  try {
    // 300 fake ids from one address: at most 8 (its share) are kept.
    for (let i = 0; i < 300; i++) announce(i, "10.1.0.1");
    assertEquals(discovery.peers().length, 8);
    // From 6 addresses: the table fills, and stays bounded.
    for (let i = 0; i < 300; i++) announce(i, `10.1.0.${2 + (i % 6)}`);
    assertEquals(discovery.peers().length, 16);
    // A real peer from a seventh address is still found.
    const real = Identity.generate().publicKey;
    socket.emit("response", {
      type: "response",
      answers: buildServiceRecords({
        name: "real",
        host: "real",
        port: 22000,
        peerId: real,
        ipv4: ["10.2.0.1"],
        ipv6: [],
      }),
    }, { address: "10.2.0.1", port: 5353 });
    assert(discovery.peers().some((p) => p.name === "real"), "real peer kept");
    assertEquals(discovery.peers().length, 16);
  } finally {
    await discovery.close();
  }
});
