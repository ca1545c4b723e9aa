import { Identity, samePeerId } from "../../src/identity/identity.ts";
import { dial } from "../../src/net/dialer.ts";
import { compareBytes } from "../../src/net/tie_break.ts";
import {
  ConnectionPool,
  DEFAULT_DEAD_AFTER_MS,
  type DisconnectReason,
  PeerNotConnectedError,
  type PoolOptions,
  REPLACEMENT_GRACE_MS,
} from "../../src/net/pool.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startProxy } from "./_proxy.ts";
import { pattern, waitFor } from "./_helpers.ts";

const FAST_BACKOFF = { baseMs: 20, maxMs: 200 };

/** A pool on 127.0.0.1 with its events recorded. */
function testPool(options: Partial<PoolOptions> = {}, port = 0) {
  const identity = options.identity ?? Identity.generate();
  const pool = new ConnectionPool({
    identity,
    listen: { hostname: "127.0.0.1", port },
    backoff: FAST_BACKOFF,
    ...options,
  });
  const messages: { from: Uint8Array; message: Uint8Array }[] = [];
  const connected: { peerId: Uint8Array; outbound: boolean }[] = [];
  const disconnected: { peerId: Uint8Array; reason: DisconnectReason }[] = [];
  pool.on(
    "message",
    (e) => void messages.push({ from: e.peerId, message: e.message }),
  );
  pool.on("peer-connected", (e) => void connected.push(e));
  pool.on("peer-disconnected", (e) => void disconnected.push(e));
  return {
    identity,
    pool,
    port: pool.addr!.port,
    messages,
    connected,
    disconnected,
  };
}

Deno.test("ConnectionPool connects two peers that exchange messages both ways", async () => {
  const a = testPool();
  const b = testPool();
  try {
    b.pool.addStaticPeer("127.0.0.1", a.port, a.identity.publicKey);
    await waitFor(
      () => a.pool.peers().length === 1 && b.pool.peers().length === 1,
      "connection",
    );
    assert(samePeerId(a.pool.peers()[0]!, b.identity.publicKey));
    assert(samePeerId(b.pool.peers()[0]!, a.identity.publicKey));
    assertEquals(b.pool.isOutbound(a.identity.publicKey), true);
    assertEquals(a.pool.isOutbound(b.identity.publicKey), false);

    await a.pool.send(b.identity.publicKey, pattern(100_000, 1));
    await b.pool.send(a.identity.publicKey, pattern(10, 2));
    await b.pool.broadcast(pattern(3, 3));
    await waitFor(
      () => b.messages.length === 1 && a.messages.length === 2,
      "messages",
    );
    assertEquals(b.messages[0]!.message, pattern(100_000, 1));
    assert(samePeerId(b.messages[0]!.from, a.identity.publicKey));
    assertEquals(a.messages.map((m) => m.message), [
      pattern(10, 2),
      pattern(3, 3),
    ]);
    await assertRejects(
      () => a.pool.send(Identity.generate().publicKey, new Uint8Array(1)),
      PeerNotConnectedError,
    );
  } finally {
    await b.pool.close();
    await a.pool.close();
  }
});

Deno.test("ConnectionPool keeps exactly one connection when both sides dial at once", async () => {
  for (let round = 0; round < 4; round++) {
    const a = testPool();
    const b = testPool();
    try {
      a.pool.addStaticPeer("127.0.0.1", b.port);
      b.pool.addStaticPeer("127.0.0.1", a.port);
      const settled = () => {
        const aOut = a.pool.isOutbound(b.identity.publicKey);
        const bOut = b.pool.isOutbound(a.identity.publicKey);
        return a.pool.peers().length === 1 && b.pool.peers().length === 1 &&
          aOut !== undefined && bOut !== undefined && aOut !== bOut &&
          a.pool.channel(b.identity.publicKey)!.isOpen &&
          b.pool.channel(a.identity.publicKey)!.isOpen;
      };
      await waitFor(settled, "one shared connection");
      // The kept connection is the one dialed by the lower key, on both sides.
      const aLower =
        compareBytes(a.identity.publicKey, b.identity.publicKey) < 0;
      assertEquals(
        a.pool.isOutbound(b.identity.publicKey),
        aLower,
        `round ${round}`,
      );
      // And it carries traffic both ways.
      await a.pool.send(b.identity.publicKey, pattern(5, round));
      await b.pool.send(a.identity.publicKey, pattern(6, round));
      await waitFor(
        () => a.messages.length === 1 && b.messages.length === 1,
        "messages over the kept connection",
      );
      assert(settled(), "still exactly one connection");
    } finally {
      await a.pool.close();
      await b.pool.close();
    }
  }
});

/**
 * Both sides dial; the peer finishes its own handshake and drops ours before
 * that handshake's last message reaches us (held here by a proxy). `high`'s
 * channel loses the tie-break, so `high` hears "duplicate connection" first.
 */
async function duplicateDroppedEarly(
  body: (
    high: ReturnType<typeof testPool>,
    low: ReturnType<typeof testPool>,
    held: ReturnType<typeof startProxy>,
  ) => Promise<void>,
) {
  const [lowId, highId] = [Identity.generate(), Identity.generate()].sort(
    (x, y) => compareBytes(x.publicKey, y.publicKey),
  ) as [Identity, Identity];
  const high = testPool({ identity: highId });
  const low = testPool({ identity: lowId });
  // Forwards message 2 of `low`'s handshake, then holds message 3.
  const held: ReturnType<typeof startProxy> = startProxy({
    targetPort: high.port,
    tamper: (direction, index, frame) => {
      if (direction === "toClient" && index === 0) held.pause();
      return [frame];
    },
  });
  try {
    high.pool.addStaticPeer("127.0.0.1", low.port);
    await waitFor(() => high.pool.peers().length === 1, "first connection");
    assertEquals(high.pool.isOutbound(low.identity.publicKey), true);
    low.pool.addStaticPeer("127.0.0.1", held.port);
    await body(high, low, held);
  } finally {
    await low.pool.close();
    await high.pool.close();
    await held.close();
  }
}

Deno.test("ConnectionPool: a peer that dropped our connection for its own is not reported gone while that one arrives", async () => {
  await duplicateDroppedEarly(async (high, low, held) => {
    await waitFor(() => high.pool.peers().length === 0, "our channel dropped");
    const droppedAt = Date.now();
    assertEquals(high.disconnected, [], "no disconnect during the grace");
    held.resume();
    await waitFor(
      () => high.pool.isOutbound(low.identity.publicKey) === false,
      "the winning connection",
    );
    assert(Date.now() - droppedAt < REPLACEMENT_GRACE_MS, "within the grace");
    assertEquals(high.disconnected.map((d) => d.reason), [{
      kind: "replaced",
    }]);
    assertEquals(high.connected.map((c) => c.outbound), [true, false]);
    // The kept connection carries traffic.
    await low.pool.send(high.identity.publicKey, pattern(7, 1));
    await waitFor(() => high.messages.length === 1, "message");
  });
});

Deno.test("ConnectionPool: a replacement that never comes is a disconnect after the grace", async () => {
  await duplicateDroppedEarly(async (high) => {
    await waitFor(() => high.pool.peers().length === 0, "our channel dropped");
    const droppedAt = Date.now();
    await waitFor(
      () => high.disconnected.length > 0,
      "disconnect",
      REPLACEMENT_GRACE_MS + 3_000,
    );
    assert(Date.now() - droppedAt >= REPLACEMENT_GRACE_MS - 50);
    assertEquals(high.disconnected[0]!.reason, {
      kind: "goodbye",
      reason: "duplicate connection",
    });
  });
});

Deno.test("ConnectionPool.close() while a replacement is awaited reports the peer gone at once", async () => {
  await duplicateDroppedEarly(async (high) => {
    await waitFor(() => high.pool.peers().length === 0, "our channel dropped");
    const closedAt = Date.now();
    await high.pool.close();
    assert(
      Date.now() - closedAt < REPLACEMENT_GRACE_MS,
      "no wait for the grace",
    );
    assertEquals(high.disconnected.map((d) => d.reason), [{
      kind: "goodbye",
      reason: "duplicate connection",
    }]);
  });
});

Deno.test("ConnectionPool.close() says goodbye: the peer sees a clean disconnect", async () => {
  const a = testPool();
  const b = testPool();
  try {
    b.pool.addStaticPeer("127.0.0.1", a.port);
    await waitFor(() => a.pool.peers().length === 1, "connection");
    await b.pool.close();
    await waitFor(() => a.disconnected.length === 1, "disconnect event");
    assertEquals(a.disconnected[0]!.reason, {
      kind: "goodbye",
      reason: "shutting down",
    });
    assert(samePeerId(a.disconnected[0]!.peerId, b.identity.publicKey));
    assertEquals(b.disconnected[0]!.reason, {
      kind: "local",
      reason: "shutting down",
    });
  } finally {
    await b.pool.close();
    await a.pool.close();
  }
});

Deno.test("ConnectionPool reconnects after the peer restarts with a new identity", async () => {
  const a = testPool();
  let b = testPool();
  const port = b.port;
  try {
    a.pool.addStaticPeer("127.0.0.1", port);
    await waitFor(() => a.connected.length === 1, "first connection");
    await b.pool.close();
    await waitFor(() => a.disconnected.length === 1, "disconnect");
    b = testPool({}, port);
    await waitFor(() => a.connected.length === 2, "reconnection", 10_000);
    assert(samePeerId(a.connected[1]!.peerId, b.identity.publicKey));
    assert(!samePeerId(a.connected[0]!.peerId, a.connected[1]!.peerId));
    await a.pool.send(b.identity.publicKey, pattern(7, 7));
    await waitFor(() => b.messages.length === 1, "message after reconnect");
  } finally {
    await a.pool.close();
    await b.pool.close();
  }
});

Deno.test("ConnectionPool retries a peer that is down with back-off until it is up", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close(); // nothing listens here for now
  let attempts = 0;
  const a = testPool({
    dial: (options) => {
      attempts++;
      return dial(options);
    },
  });
  let b: ReturnType<typeof testPool> | undefined;
  try {
    a.pool.addStaticPeer("127.0.0.1", port);
    await waitFor(() => attempts >= 3, "a few failed attempts");
    assertEquals(a.connected.length, 0);
    b = testPool({}, port);
    await waitFor(
      () => a.connected.length === 1,
      "connection once the peer is up",
    );
  } finally {
    await a.pool.close();
    await b?.pool.close();
  }
});

Deno.test("ConnectionPool detects a dead peer that stops answering", async () => {
  const a = testPool({ keepaliveMs: 40, deadAfterMs: 250 });
  const b = testPool();
  const proxy = startProxy({ targetPort: b.port });
  try {
    a.pool.addStaticPeer("127.0.0.1", proxy.port);
    await waitFor(
      () => a.connected.length === 1 && b.connected.length === 1,
      "connection",
    );
    // Keepalive pongs keep arriving on the idle connection well past the
    // dead-peer timeout, so it stays up.
    const channel = a.pool.channel(b.identity.publicKey)!;
    const start = Date.now();
    await waitFor(
      () => channel.lastReceivedAt - start > 400,
      "pongs past the timeout",
    );
    assertEquals(a.disconnected.length, 0, "idle but alive peer kept");
    proxy.pause();
    await waitFor(() => a.disconnected.length >= 1, "dead-peer detection");
    const reason = a.disconnected[0]!.reason;
    assert(
      reason.kind === "error" && reason.error.name === "DeadPeerError",
      JSON.stringify(reason),
    );
  } finally {
    await a.pool.close();
    await proxy.close();
    await b.pool.close();
  }
});

Deno.test("ConnectionPool with default timings keeps an idle peer and drops a cut one within 10 s, on both sides", async () => {
  const a = testPool();
  const b = testPool();
  const proxy = startProxy({ targetPort: b.port });
  try {
    a.pool.addStaticPeer("127.0.0.1", proxy.port);
    await waitFor(
      () => a.connected.length === 1 && b.connected.length === 1,
      "connection",
    );
    // Idle for longer than the dead-peer timeout: keepalives hold it up.
    await new Promise((r) => setTimeout(r, DEFAULT_DEAD_AFTER_MS + 1_000));
    assertEquals(a.disconnected.length + b.disconnected.length, 0);

    proxy.pause(); // the link is cut: nothing passes either way
    const cutAt = Date.now();
    await waitFor(
      () => a.disconnected.length >= 1 && b.disconnected.length >= 1,
      "both sides drop the cut peer",
      10_000,
    );
    const took = Date.now() - cutAt;
    assert(took <= 10_000, `dropped after ${took} ms`);
    for (const side of [a, b]) {
      const reason = side.disconnected[0]!.reason;
      assert(
        reason.kind === "error" && reason.error.name === "DeadPeerError",
        JSON.stringify(reason),
      );
    }
  } finally {
    await a.pool.close();
    await proxy.close();
    await b.pool.close();
  }
});

Deno.test("ConnectionPool drops a static peer that is itself, without a reconnect loop", async () => {
  const a = testPool();
  try {
    a.pool.addStaticPeer("127.0.0.1", a.port);
    await waitFor(() => a.pool.staticPeerCount === 0, "static peer dropped");
    assertEquals(a.pool.peers().length, 0);
    assertEquals(a.connected.length, 0);
  } finally {
    await a.pool.close();
  }
});

Deno.test("ConnectionPool.close() abandons a handshake in progress", async () => {
  // A peer that accepts TCP and never answers the handshake.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for (;;) accepted.push(await silent.accept());
    } catch { /* listener closed */ }
  })();
  const a = testPool({ dialTimeoutMs: 60_000 });
  try {
    a.pool.addStaticPeer("127.0.0.1", (silent.addr as Deno.NetAddr).port);
    await waitFor(() => accepted.length === 1, "the dial to reach the peer");
    // Would hang for the 60 s dial timeout if the dial ignored close().
    await a.pool.close();
    assertEquals(a.pool.staticPeerCount, 0);
  } finally {
    await a.pool.close();
    silent.close();
    await accepting;
    for (const c of accepted) c.close();
  }
});
