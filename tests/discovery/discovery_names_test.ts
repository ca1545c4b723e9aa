import { waitFor as poll } from "../_wait.ts";
import { assert, assertEquals } from "../assert.ts";
import { Discovery, type LostReason } from "../../src/discovery/mod.ts";
import {
  buildServiceRecords,
  SERVICE_TYPE,
} from "../../src/discovery/service_records.ts";
import type { DnsMessage } from "../../src/discovery/mdns_socket.ts";
import { Identity, peerIdHex } from "../../src/identity/mod.ts";
import { FakeSocket } from "./_fake_socket.ts";

function waitFor(cond: () => boolean, what: string): Promise<void> {
  return poll(cond, what, 10_000, 20);
}

/** Two fresh ids, the lower first (ties go to the higher id). */
function twoIds(): [Uint8Array, Uint8Array] {
  const a = Identity.generate().publicKey;
  const b = Identity.generate().publicKey;
  return peerIdHex(a) < peerIdHex(b) ? [a, b] : [b, a];
}

function start(peerId: Uint8Array, now?: () => number) {
  const socket = new FakeSocket();
  const discovery = new Discovery({
    name: "laptop",
    host: "laptop-host",
    port: 22000,
    peerId,
    interfaces: () => [],
    openSocket: () => socket,
    ...(now ? { now } : {}),
  });
  discovery.start();
  socket.emit("ready");
  return { socket, discovery };
}

function claim(name: string, peerId: Uint8Array, ttl?: number): DnsMessage {
  return {
    type: "response",
    answers: buildServiceRecords({
      name,
      host: "other-host",
      port: 22001,
      peerId,
      ipv4: ["10.0.0.9"],
      ipv6: [],
    }, ttl),
  };
}

function srvNames(msgs: DnsMessage[]): string[] {
  return msgs.flatMap((m) =>
    (m.answers ?? []).filter((r) => r.type === "SRV").map((r) => r.name)
  );
}

Deno.test("Discovery probes its name three times before announcing it", async () => {
  const [id] = twoIds();
  const { socket, discovery } = start(id);
  try {
    assert(!discovery.announced);
    await waitFor(() => discovery.announced, "announcement");
    const probes = socket.sent.filter((s) =>
      s.kind === "query" &&
      s.msg.questions?.[0]?.name === "laptop._dsync._tcp.local"
    );
    assertEquals(probes.length, 3);
    const authorities = probes[0]!.msg.authorities ?? [];
    assertEquals(authorities.map((r) => r.type).sort(), ["SRV", "TXT"]);
    const firstResponse = socket.sent.findIndex((s) => s.kind === "response");
    const lastProbe = socket.sent.lastIndexOf(probes[2]!);
    assert(lastProbe < firstResponse, "no answer before the probes end");
    // The browse query for the service type goes out at once.
    assert(
      socket.sent.some((s) => s.msg.questions?.[0]?.name === SERVICE_TYPE),
    );
  } finally {
    await discovery.close();
  }
});

Deno.test("Discovery renames to `name (2)` when another id answers its probe", async () => {
  const [low, high] = twoIds();
  const { socket, discovery } = start(high);
  try {
    await waitFor(() => socket.sent.some((s) => s.kind === "query"), "probe");
    socket.deliver(claim("laptop", low));
    assertEquals(discovery.name, "laptop (2)");
    await waitFor(() => discovery.announced, "announcement");
    assertEquals(
      [...new Set(srvNames(socket.responses()))],
      ["laptop (2)._dsync._tcp.local"],
    );
    // Our own packets coming back over loopback are no clash.
    for (const msg of socket.responses()) socket.deliver(msg);
    assertEquals(discovery.name, "laptop (2)");
    // The other holder of "laptop" is a peer; we never are.
    assertEquals(discovery.peers().map((p) => peerIdHex(p.id)), [
      peerIdHex(low),
    ]);
  } finally {
    await discovery.close();
  }
});

Deno.test("Discovery loses a simultaneous probe to a higher id and wins against a lower one", async () => {
  const [low, high] = twoIds();
  const probeFrom = (peerId: Uint8Array): DnsMessage => ({
    type: "query",
    questions: [{ name: "laptop._dsync._tcp.local", type: "ANY" }],
    authorities: claim("laptop", peerId).answers!.filter((r) =>
      r.name === "laptop._dsync._tcp.local"
    ),
  });
  const loser = start(low);
  const winner = start(high);
  try {
    loser.socket.deliver(probeFrom(high));
    winner.socket.deliver(probeFrom(low));
    assertEquals(loser.discovery.name, "laptop (2)");
    assertEquals(winner.discovery.name, "laptop");
  } finally {
    await loser.discovery.close();
    await winner.discovery.close();
  }
});

Deno.test("Discovery after announcing defends against a lower id and yields to a higher one", async () => {
  const [low, mid] = twoIds();
  let high = Identity.generate().publicKey;
  while (peerIdHex(high) <= peerIdHex(mid)) {
    high = Identity.generate().publicKey;
  }
  const { socket, discovery } = start(mid);
  try {
    await waitFor(() => discovery.announced, "announcement");
    await waitFor(() => socket.responses().length >= 2, "second announcement");
    const before = socket.responses().length;
    socket.deliver(claim("laptop", low));
    assertEquals(discovery.name, "laptop");
    await waitFor(() => socket.responses().length > before, "defence");
    socket.deliver(claim("laptop", high));
    assertEquals(discovery.name, "laptop (2)");
    const goodbye = socket.responses().at(-1)!;
    assert((goodbye.answers ?? []).every((r) => r.ttl === 0));
    assertEquals(srvNames([goodbye]), ["laptop._dsync._tcp.local"]);
    await waitFor(() => discovery.announced, "announcement under the new name");
    assertEquals(srvNames([socket.responses().at(-1)!]), [
      "laptop (2)._dsync._tcp.local",
    ]);
  } finally {
    await discovery.close();
  }
});

Deno.test("Discovery answers a legacy unicast query by unicast (RFC 6762 §6.7)", async () => {
  const [id] = twoIds();
  const { socket, discovery } = start(id);
  try {
    await waitFor(() => discovery.announced, "announcement");
    socket.deliver({
      type: "query",
      id: 4242,
      questions: [{ name: SERVICE_TYPE, type: "PTR" }],
    }, { address: "10.0.0.7", port: 40123 });
    const reply = socket.sent.find((s) => s.rinfo !== undefined);
    assert(reply !== undefined, "a unicast reply");
    assertEquals(reply.rinfo, { address: "10.0.0.7", port: 40123 });
    assertEquals(reply.msg.id, 4242);
    assertEquals(reply.msg.questions, [{ name: SERVICE_TYPE, type: "PTR" }]);
    const answers = reply.msg.answers ?? [];
    assert(answers.some((r) => r.type === "PTR"));
    assert(answers.every((r) => r.ttl === 10 && r.flush === undefined));
  } finally {
    await discovery.close();
  }
});

Deno.test("Discovery reports peers lost by goodbye and by expiry, ignoring itself", async () => {
  const [me, other] = twoIds();
  let now = 1_000_000;
  const { socket, discovery } = start(me, () => now);
  const lost: LostReason[] = [];
  const found: string[] = [];
  discovery.on("lost", (_p, reason) => lost.push(reason));
  discovery.on("peer", (p) => found.push(p.name));
  try {
    await waitFor(() => discovery.announced, "announcement");
    for (const msg of socket.responses()) socket.deliver(msg);
    socket.deliver(claim("desk", other));
    assertEquals(found, ["desk"]);
    socket.deliver(claim("desk", other, 0));
    assertEquals(lost, ["goodbye"]);
    socket.deliver(claim("desk", other, 2));
    assertEquals(found, ["desk", "desk"]);
    now += 3_000;
    await waitFor(() => lost.length === 2, "expiry");
    assertEquals(lost, ["goodbye", "expired"]);
  } finally {
    await discovery.close();
  }
  assert(socket.destroyed);
});

Deno.test("Discovery sends on every IPv4 interface, that interface's address first", async () => {
  const [id] = twoIds();
  const opened: { opts: unknown; socket: FakeSocket }[] = [];
  const iface = (address: string) =>
    ({ family: "IPv4", address }) as Deno.NetworkInterfaceInfo;
  const discovery = new Discovery({
    name: "laptop",
    host: "laptop-host",
    port: 22000,
    peerId: id,
    interfaces:
      () => [iface("127.0.0.1"), iface("10.1.0.5"), iface("10.2.0.5")],
    openSocket: (opts) => {
      const socket = new FakeSocket();
      opened.push({ opts, socket });
      return socket;
    },
  });
  discovery.start();
  try {
    assertEquals(opened.map((o) => o.opts), [
      {},
      { interface: "10.1.0.5", bind: "0.0.0.0" },
      { interface: "10.2.0.5", bind: "0.0.0.0" },
    ]);
    opened[0]!.socket.emit("ready");
    await waitFor(() => discovery.announced, "announcement");
    const firstA = (s: FakeSocket) =>
      s.responses()[0]?.answers?.find((r) => r.type === "A")?.data;
    assertEquals(firstA(opened[1]!.socket), "10.1.0.5");
    assertEquals(firstA(opened[2]!.socket), "10.2.0.5");
    // The receiving socket does not send to the group itself.
    assertEquals(opened[0]!.socket.responses(), []);
  } finally {
    await discovery.close();
  }
  assert(opened.every((o) => o.socket.destroyed));
  // The goodbye went out on both interfaces.
  for (const { socket } of opened.slice(1)) {
    const last = socket.responses().at(-1)!;
    assert((last.answers ?? []).every((r) => r.ttl === 0));
  }
});
