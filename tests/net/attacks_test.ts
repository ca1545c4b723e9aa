import {
  BadSignatureError,
  DecryptError,
  HandshakeError,
  IdentityMismatchError,
} from "../../src/crypto/errors.ts";
import { generateKeyPair } from "../../src/crypto/dh.ts";
import {
  MESSAGE_LENGTHS,
  PROLOGUE,
  secureHandshake,
} from "../../src/crypto/handshake.ts";
import { HandshakeState } from "../../src/crypto/noise.ts";
import { Identity, samePeerId } from "../../src/identity/identity.ts";
import { dial } from "../../src/net/dialer.ts";
import { FrameReader, writeAll } from "../../src/net/frame_io.ts";
import { listen, type ListenerLimits } from "../../src/net/listener.ts";
import type { SecureChannel } from "../../src/net/secure_channel.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { pattern, waitFor } from "./_helpers.ts";
import { connectFrom } from "./_node_conn.ts";
import { startProxy, type TamperResult } from "./_proxy.ts";

/**
 * A listener that echoes every message and records how each session ended,
 * keyed by the peer's id in hex.
 */
function echoServer(limits: Partial<ListenerLimits> = {}) {
  const identity = Identity.generate();
  const outcomes = new Map<string, string>();
  const loops = new Set<Promise<void>>();
  const listener = listen({
    hostname: "127.0.0.1",
    port: 0,
    identity,
    limits,
    onSession: (channel) => {
      const key = hex(channel.peerId);
      const loop = (async () => {
        try {
          for (;;) {
            const message = await channel.receive();
            if (message === null) break;
            await channel.send(message);
          }
          outcomes.set(key, channel.closeReason?.kind ?? "open");
        } catch (error) {
          outcomes.set(key, (error as Error).name);
        }
      })();
      loops.add(loop);
    },
  });
  return {
    identity,
    listener,
    port: listener.addr.port,
    outcomes,
    async close() {
      await listener.close();
      await Promise.allSettled([...loops]);
    },
  };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function echoOnce(channel: SecureChannel, message: Uint8Array) {
  await channel.send(message);
  assertEquals(await channel.receive(), message);
}

Deno.test("dial() refuses a relay that terminates the handshake with its own identity", async () => {
  const server = echoServer();
  const relayIdentity = Identity.generate();
  const relayed: SecureChannel[] = [];
  // The relay accepts as itself and dials the real server as itself,
  // forwarding messages between the two channels.
  const relay = listen({
    hostname: "127.0.0.1",
    port: 0,
    identity: relayIdentity,
    onSession: (inbound) => {
      relayed.push(inbound);
      (async () => {
        const outbound = await dial({
          hostname: "127.0.0.1",
          port: server.port,
          identity: relayIdentity,
        });
        relayed.push(outbound);
        const pipe = async (from: SecureChannel, to: SecureChannel) => {
          for (let m; (m = await from.receive()) !== null;) await to.send(m);
          await to.close();
        };
        await Promise.allSettled([
          pipe(inbound, outbound),
          pipe(outbound, inbound),
        ]);
      })().catch(() => {});
    },
  });
  try {
    await assertRejects(
      () =>
        dial({
          hostname: "127.0.0.1",
          port: relay.addr.port,
          identity: Identity.generate(),
          expectedPeerId: server.identity.publicKey,
        }),
      IdentityMismatchError,
    );
    // Without an expected id the relay is reachable, but it cannot pass as
    // the server: the id the client sees is the relay's own.
    const client = await dial({
      hostname: "127.0.0.1",
      port: relay.addr.port,
      identity: Identity.generate(),
    });
    assert(samePeerId(client.peerId, relayIdentity.publicKey));
    assert(!samePeerId(client.peerId, server.identity.publicKey));
    await client.close();
  } finally {
    await relay.close();
    await Promise.allSettled(relayed.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("dial() fails (DecryptError inside HandshakeError) when a byte relay swaps in its own ephemeral key", async () => {
  const server = echoServer();
  try {
    for (const direction of ["toServer", "toClient"] as const) {
      const proxy = startProxy({
        targetPort: server.port,
        tamper: (d, index, frame) => {
          if (d !== direction || index !== 0) return [frame];
          const forged = frame.slice();
          forged.set(generateKeyPair().publicKey, 2); // e is the first 32 bytes
          return [forged];
        },
      });
      try {
        // The client cannot decrypt the server's static key: authentication
        // of handshake message 2 fails.
        const error = await assertRejects(
          () =>
            dial({
              hostname: "127.0.0.1",
              port: proxy.port,
              identity: Identity.generate(),
              timeoutMs: 2_000,
            }),
          HandshakeError,
          "failed authentication",
          `ephemeral swapped ${direction}`,
        );
        assert(error.cause instanceof DecryptError, `cause: ${error.cause}`);
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await server.close();
  }
});

Deno.test("dial() fails with BadSignatureError when a relay replays the server's identity proof", async () => {
  const server = echoServer();
  // The relay runs Noise with both sides under its own keys and hands the
  // client the server's genuine identity payload (key and signature).
  const relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relayTask = (async () => {
    const client = await relay.accept();
    const upstream = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    try {
      const fromClient = new FrameReader(client);
      const fromServer = new FrameReader(upstream);
      const toClient = new HandshakeState({
        initiator: false,
        prologue: PROLOGUE,
        staticKeyPair: generateKeyPair(),
      });
      const toServer = new HandshakeState({
        initiator: true,
        prologue: PROLOGUE,
        staticKeyPair: generateKeyPair(),
      });
      toClient.readMessage((await fromClient.readFrame())!.slice());
      await writeAll(upstream, frame(toServer.writeMessage(new Uint8Array(0))));
      const serverMessage2 = (await fromServer.readFrame())!.slice();
      assertEquals(serverMessage2.length, MESSAGE_LENGTHS[1]);
      const serverProof = toServer.readMessage(serverMessage2);
      await writeAll(client, frame(toClient.writeMessage(serverProof)));
      await fromClient.readFrame(); // the client gives up first
    } catch {
      // Expected: the client hangs up.
    } finally {
      client.close();
      upstream.close();
    }
  })();
  try {
    await assertRejects(
      () =>
        dial({
          hostname: "127.0.0.1",
          port: (relay.addr as Deno.NetAddr).port,
          identity: Identity.generate(),
        }),
      BadSignatureError,
    );
  } finally {
    await relayTask;
    relay.close();
    await server.close();
  }
});

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

Deno.test("a tampered transport stream closes that connection with a named error; others keep working", async () => {
  const server = echoServer({ maxMessageSize: 1024 * 1024 });
  const legit = await dial({
    hostname: "127.0.0.1",
    port: server.port,
    identity: Identity.generate(),
    expectedPeerId: server.identity.publicKey,
  });
  // Transport frames toward the server start at index 2 (after handshake
  // messages 1 and 3).
  let held: Uint8Array | undefined;
  const attacks: {
    name: string;
    expected: string;
    tamper?: (index: number, frame: Uint8Array) => TamperResult;
    oversize?: boolean;
  }[] = [
    {
      name: "flipped bit",
      expected: "DecryptError",
      tamper: (i, f) => {
        if (i !== 2) return [f];
        const bad = f.slice();
        bad[10]! ^= 0x01;
        return [bad];
      },
    },
    {
      name: "replayed frame",
      expected: "DecryptError",
      tamper: (i, f) => (i === 2 ? [f, f] : [f]),
    },
    {
      name: "reordered frames",
      expected: "DecryptError",
      tamper: (i, f) => {
        if (i === 2) {
          held = f;
          return [];
        }
        return i === 3 ? [f, held!] : [f];
      },
    },
    {
      name: "truncated frame",
      expected: "TruncatedFrameError",
      tamper: (i, f) =>
        i === 2 ? { send: [f.subarray(0, f.length >> 1)], close: true } : [f],
    },
    {
      name: "frame length below the minimum",
      expected: "FrameSizeError",
      tamper: (i, f) => (i === 2 ? [Uint8Array.of(0, 3, 1, 2, 3)] : [f]),
    },
    {
      name: "message announced over the cap",
      expected: "MessageTooLargeError",
      oversize: true,
    },
  ];
  try {
    for (const [n, attack] of attacks.entries()) {
      const proxy = startProxy({
        targetPort: server.port,
        tamper: (direction, index, f) =>
          direction === "toServer" && attack.tamper
            ? attack.tamper(index, f)
            : [f],
      });
      const identity = Identity.generate();
      const attacker = await dial({
        hostname: "127.0.0.1",
        port: proxy.port,
        identity,
        maxMessageSize: 8 * 1024 * 1024,
      });
      try {
        const key = hex(identity.publicKey);
        const payload = attack.oversize
          ? new Uint8Array(2 * 1024 * 1024)
          : pattern(100, n);
        // Two separate writes, so that there are two transport frames.
        await attacker.send(payload).catch(() => {});
        await attacker.send(pattern(200, n)).catch(() => {});
        await waitFor(
          () => server.outcomes.has(key),
          `server reaction to ${attack.name}`,
        );
        assertEquals(server.outcomes.get(key), attack.expected, attack.name);
        // The attacker's connection ends (after echoes of frames that were
        // still genuine); the legitimate peer is unaffected.
        for (let i = 0; i < 3; i++) {
          if ((await attacker.receive().catch(() => null)) === null) break;
          assert(i < 2, "attacker connection still open");
        }
        await echoOnce(legit, pattern(70_000, n));
      } finally {
        await attacker.close();
        await proxy.close();
      }
    }
    assertEquals(server.listener.stats.sessions, 1 + attacks.length);
  } finally {
    await legit.close();
    await server.close();
  }
});

Deno.test("listen() closes garbage and half-open connections by the handshake deadline", async () => {
  const server = echoServer({ handshakeTimeoutMs: 300 });
  const conns: Deno.Conn[] = [];
  try {
    const garbage = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    conns.push(garbage);
    await writeAll(garbage, pattern(1000, 9));
    const silent = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    conns.push(silent);
    // Both see the server hang up.
    for (const conn of [garbage, silent]) {
      const buf = new Uint8Array(4096);
      let r: number | null = 0;
      while (r !== null) r = await conn.read(buf).catch(() => null);
    }
    const failures = server.listener.stats.failures;
    assertEquals(failures["HandshakeTimeoutError"], 1);
    assertEquals(failures["HandshakeError"], 1);
    assertEquals(server.listener.stats.handshakesInFlight, 0);
    const peer = await dial({
      hostname: "127.0.0.1",
      port: server.port,
      identity: Identity.generate(),
    });
    await echoOnce(peer, pattern(10, 1));
    await peer.close();
  } finally {
    for (const c of conns) c.close();
    await server.close();
  }
});

Deno.test("listen() survives a burst of 1,000 connections from one address", async () => {
  const server = echoServer({ handshakeTimeoutMs: 1_000 });
  // This isolate's heap and buffers, not the process RSS: with --parallel,
  // other test files allocate in the same process at the same time.
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = used();
  let peak = before;
  const attempt = async () => {
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(pattern(64, 1)).catch(() => 0);
      const buf = new Uint8Array(1024);
      // Wait for the server to hang up (at once, or at the handshake deadline).
      while ((await conn.read(buf).catch(() => null)) !== null) { /* drain */ }
    } catch {
      // Refused or reset: fine.
    } finally {
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
  };
  let started = 0;
  const worker = async () => {
    while (started < 1_000) {
      started++;
      await attempt();
      peak = Math.max(peak, used());
    }
  };
  try {
    const burst = Promise.all(Array.from({ length: 100 }, worker));
    await waitFor(() => started >= 300, "the burst to be under way");
    // A legitimate peer from another address connects in the middle of it.
    const peer = await dial({
      hostname: "127.0.0.1",
      port: server.port,
      identity: Identity.generate(),
      expectedPeerId: server.identity.publicKey,
      connect: (hostname, port) => connectFrom("127.0.0.2", hostname, port),
    });
    await echoOnce(peer, pattern(1000, 2));
    await burst;
    await echoOnce(peer, pattern(1000, 3));
    await peer.close();
    const stats = server.listener.stats;
    assert(stats.rateLimited >= 900, `rate limited: ${stats.rateLimited}`);
    assertEquals(stats.accepted, 1_001);
    const growthMb = (peak - before) / 1e6;
    assert(growthMb < 50, `Memory grew by ${growthMb.toFixed(1)} MB`);
  } finally {
    await server.close();
  }
});

Deno.test("listen() caps open sessions per IP and frees the slot when one closes", async () => {
  const server = echoServer({ maxSessionsPerIp: 2 });
  const channels: SecureChannel[] = [];
  const connect = () =>
    dial({
      hostname: "127.0.0.1",
      port: server.port,
      identity: Identity.generate(),
      timeoutMs: 2_000,
    });
  try {
    channels.push(await connect(), await connect());
    await assertRejects(connect, HandshakeError);
    assertEquals(server.listener.stats.overCapacity, 1);
    await channels.shift()!.close();
    await waitFor(() => server.listener.stats.openSessions === 1, "slot freed");
    channels.push(await connect());
    await echoOnce(channels.at(-1)!, pattern(10, 1));
  } finally {
    await Promise.allSettled(channels.map((c) => c.close()));
    await server.close();
  }
});

/** A peer that completes a genuine handshake, then sends chosen plaintexts. */
async function rawPeer(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new FrameReader(conn);
  const identity = Identity.generate();
  const session = await secureHandshake(
    { write: (b) => writeAll(conn, b), readExact: (n) => reader.readExact(n) },
    { role: "initiator", identity },
  );
  return {
    key: hex(identity.publicKey),
    async send(...plaintexts: Uint8Array[]) {
      for (const plain of plaintexts) {
        await writeAll(conn, frame(session.sender.seal(plain)));
      }
    },
    close: () => conn.close(),
  };
}

Deno.test("a peer that breaks the message envelope is closed with a named error", async () => {
  const server = echoServer({ maxMessageSize: 1 << 20 });
  const data = (...bytes: number[]) => Uint8Array.of(0x01, ...bytes);
  const cases: {
    name: string;
    frames: Uint8Array[];
    close?: boolean;
    expected: string;
  }[] = [
    {
      name: "unknown frame type",
      frames: [Uint8Array.of(0x09, 1, 2)],
      expected: "FrameProtocolError",
    },
    {
      name: "empty DATA frame",
      frames: [data()],
      expected: "FrameProtocolError",
    },
    {
      name: "short PING",
      frames: [Uint8Array.of(0x02, 1, 2, 3)],
      expected: "FrameProtocolError",
    },
    {
      name: "GOODBYE inside a message",
      frames: [data(0, 0, 0, 100, 1, 2, 3), Uint8Array.of(0x04)],
      expected: "FrameProtocolError",
    },
    {
      name: "end of stream inside a message",
      frames: [data(0, 0, 0, 100, 1, 2, 3)],
      close: true,
      expected: "FrameProtocolError",
    },
    {
      name: "length over the cap",
      frames: [data(0x80, 0, 0, 0)],
      expected: "MessageTooLargeError",
    },
  ];
  try {
    for (const c of cases) {
      const peer = await rawPeer(server.port);
      try {
        await peer.send(...c.frames);
        if (c.close) peer.close();
        await waitFor(() => server.outcomes.has(peer.key), c.name);
        assertEquals(server.outcomes.get(peer.key), c.expected, c.name);
      } finally {
        if (!c.close) peer.close();
      }
    }
  } finally {
    await server.close();
  }
});

/** Dials the listener on `port` from `from` with a fresh identity. */
function dialFrom(port: number, from: string): Promise<SecureChannel> {
  return dial({
    hostname: "127.0.0.1",
    port,
    identity: Identity.generate(),
    timeoutMs: 3_000,
    connect: (hostname, p) => connectFrom(from, hostname, p),
  });
}

const ATTACKERS = ["2", "3", "4", "5", "6", "7"].map((n) => `127.0.0.${n}`);

Deno.test("listen() full of idle sessions from 6 addresses still seats a device from a seventh, 4 of 4 times", async () => {
  const server = echoServer({
    maxSessions: 24,
    maxSessionsPerIp: 8,
    perIpBurst: 1_000,
    perIpPerSecond: 1_000,
  });
  const idle: SecureChannel[] = [];
  const legit: SecureChannel[] = [];
  try {
    for (const from of ATTACKERS) {
      for (let i = 0; i < 4; i++) idle.push(await dialFrom(server.port, from));
    }
    await waitFor(() => server.listener.stats.openSessions === 24, "24 idle");
    // Four attempts, one after the other, as a device retrying would.
    for (let i = 0; i < 4; i++) {
      const channel = await dialFrom(server.port, "127.0.0.9");
      legit.push(channel);
      await echoOnce(channel, pattern(100, i));
      await channel.close();
    }
    // And four devices at once, from four more addresses.
    for (let i = 0; i < 4; i++) {
      legit.push(await dialFrom(server.port, `127.0.0.${10 + i}`));
    }
    for (const channel of legit.slice(4)) {
      await echoOnce(channel, pattern(10, 7));
    }
    const evicted = server.listener.stats.evicted;
    assert(evicted >= 4, `evicted ${evicted}`);
    assert(server.listener.stats.openSessions <= 24);
  } finally {
    await Promise.allSettled([...idle, ...legit].map((c) => c.close()));
    await server.close();
  }
});

Deno.test("listen() under half-open handshakes topped up from 6 addresses lets 10 of 10 legitimate handshakes through", async () => {
  const server = echoServer({
    maxHandshakes: 16,
    maxHandshakesPerIp: 4,
    handshakeTimeoutMs: 5_000,
    perIpBurst: 100_000,
    perIpPerSecond: 100_000,
  });
  let stop = false;
  const silent = new Set<
    Deno.Conn | import("../../src/net/mod.ts").ChannelConn
  >();
  // Each attacker keeps 6 silent connections open, reopening each as soon
  // as the listener drops it.
  const topUp = async (from: string) => {
    for (let round = 0; !stop && round < 2_000; round++) {
      let conn;
      try {
        conn = await connectFrom(from, "127.0.0.1", server.port);
      } catch {
        continue;
      }
      silent.add(conn);
      const buf = new Uint8Array(64);
      while (!stop && (await conn.read(buf).catch(() => null)) !== null) {
        // Until the listener hangs up.
      }
      silent.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const attackers = ATTACKERS.flatMap((from) =>
    Array.from({ length: 6 }, () => topUp(from))
  );
  const legit: SecureChannel[] = [];
  try {
    await waitFor(
      () => server.listener.stats.handshakesInFlight >= 16,
      "the attackers to fill every handshake slot",
    );
    for (let i = 0; i < 10; i++) {
      const channel = await dialFrom(server.port, "127.0.0.9");
      legit.push(channel);
      await echoOnce(channel, pattern(50, i));
    }
    assert(server.listener.stats.evicted >= 10, "room was made");
  } finally {
    stop = true;
    for (const conn of silent) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    await Promise.allSettled(attackers);
    await Promise.allSettled(legit.map((c) => c.close()));
    await server.close();
  }
});
