import {
  ChannelClosedError,
  MessageTooLargeError,
} from "../../src/net/secure_channel.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Identity } from "../../src/identity/identity.ts";
import { dial } from "../../src/net/dialer.ts";
import { channelPair, pattern, startServer, waitFor } from "./_helpers.ts";

// Around frame boundaries: a DATA frame carries 65518 stream bytes and each
// message adds a 4-byte length.
const SIZES = [0, 1, 100, 65513, 65514, 65515, 65536, 131032, 131033, 300_000];

Deno.test("SecureChannel carries messages both ways and reports peer ids", async () => {
  const pair = await channelPair();
  try {
    assertEquals(pair.client.peerId, pair.server.identity.publicKey);
    assertEquals(pair.serverSide.peerId, pair.clientIdentity.publicKey);
    for (const [i, size] of SIZES.entries()) {
      const a = pattern(size, i);
      const b = pattern(size, i + 100);
      await Promise.all([pair.client.send(a), pair.serverSide.send(b)]);
      assertEquals(await pair.serverSide.receive(), a, `client→server ${size}`);
      assertEquals(await pair.client.receive(), b, `server→client ${size}`);
    }
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.send() spans many frames for a large message", async () => {
  const pair = await channelPair();
  try {
    const big = pattern(5 * 1024 * 1024 + 7, 42);
    const [, got] = await Promise.all([
      pair.client.send(big),
      pair.serverSide.receive(),
    ]);
    assertEquals(got?.length, big.length);
    assertEquals(got, big);
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel never interleaves concurrent sends", async () => {
  const pair = await channelPair();
  try {
    const messages = Array.from(
      { length: 60 },
      (_, i) => pattern([10, 70_000, 200_000, 0, 65_515][i % 5]!, i),
    );
    const sending = Promise.all(messages.map((m) => pair.client.send(m)));
    for (const [i, want] of messages.entries()) {
      assertEquals(await pair.serverSide.receive(), want, `message ${i}`);
    }
    await sending;
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel mixes copied and directly sealed message parts byte-exactly", async () => {
  const pair = await channelPair();
  try {
    // Parts of 32 KiB and more are sealed from the caller's buffer, shorter
    // ones copied: queue both kinds so that they share frames.
    const sizes = [32767, 32768, 32769, 3, 65514, 20_000, 0, 32764, 98_310, 1];
    const messages = Array.from(
      { length: 50 },
      (_, i) => pattern(sizes[i % sizes.length]!, i + 7),
    );
    const sending = Promise.all(messages.map((m) => pair.client.send(m)));
    for (const [i, want] of messages.entries()) {
      assertEquals(await pair.serverSide.receive(), want, `message ${i}`);
    }
    await sending;
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.send() sends a message given in pieces as their concatenation", async () => {
  const pair = await channelPair({ clientMaxMessageSize: 200_000 });
  try {
    const pieceSets = [
      [],
      [pattern(0, 1)],
      [pattern(17, 2), pattern(65_536, 3)],
      [pattern(65_500, 4), pattern(40_000, 5), pattern(3, 6), pattern(0, 7)],
    ];
    const sending = Promise.all(pieceSets.map((p) => pair.client.send(p)));
    for (const [i, pieces] of pieceSets.entries()) {
      const want = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const piece of pieces) {
        want.set(piece, at);
        at += piece.length;
      }
      assertEquals(await pair.serverSide.receive(), want, `message ${i}`);
    }
    await sending;
    // The cap counts all pieces together.
    await assertRejects(
      () => pair.client.send([pattern(100_000, 8), pattern(100_001, 9)]),
      MessageTooLargeError,
    );
    assert(pair.client.isOpen);
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.send() refuses a message over its own cap and stays open", async () => {
  const pair = await channelPair({ clientMaxMessageSize: 1000 });
  try {
    await assertRejects(
      () => pair.client.send(new Uint8Array(1001)),
      MessageTooLargeError,
    );
    assert(pair.client.isOpen);
    await pair.client.send(pattern(1000, 1));
    assertEquals(await pair.serverSide.receive(), pattern(1000, 1));
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.receive() closes on a message announced over the cap", async () => {
  const pair = await channelPair({
    serverLimits: { maxMessageSize: 1024 * 1024 },
    clientMaxMessageSize: 4 * 1024 * 1024,
  });
  try {
    pair.client.send(new Uint8Array(2 * 1024 * 1024)).catch(() => {});
    await assertRejects(
      () => pair.serverSide.receive(),
      MessageTooLargeError,
      "2097152",
    );
    const reason = await pair.serverSide.closed;
    assertEquals(reason.kind, "error");
    assert(
      reason.kind === "error" && reason.error.name === "MessageTooLargeError",
    );
    // The sender sees the connection end.
    assertEquals(await pair.client.receive(), null);
    await assertRejects(
      () => pair.client.send(new Uint8Array(1)),
      ChannelClosedError,
    );
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.close() says goodbye; the peer sees a clean end", async () => {
  const pair = await channelPair();
  try {
    await pair.client.send(pattern(10, 1));
    await pair.client.close("shutting down");
    assertEquals(await pair.serverSide.receive(), pattern(10, 1));
    assertEquals(await pair.serverSide.receive(), null);
    assertEquals(pair.serverSide.closeReason, {
      kind: "goodbye",
      reason: "shutting down",
    });
    assertEquals(pair.client.closeReason, {
      kind: "local",
      reason: "shutting down",
    });
    assertEquals(await pair.client.receive(), null);
    await assertRejects(
      () => pair.client.send(new Uint8Array(1)),
      ChannelClosedError,
    );
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel answers pings inside receive()", async () => {
  const pair = await channelPair();
  try {
    const serverLoop = pair.serverSide.receive();
    const clientLoop = pair.client.receive();
    const before = pair.client.lastReceivedAt;
    // The pong must be told from the last receive by its time.
    await waitFor(() => Date.now() > before, "the clock to move on");
    await pair.client.ping();
    await waitFor(() => pair.client.lastReceivedAt > before, "pong");
    await pair.client.close();
    assertEquals(await clientLoop, null);
    assertEquals(await serverLoop, null);
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel.receive() reports a peer that vanishes without goodbye as eof", async () => {
  const pair = await channelPair();
  try {
    pair.client.abort(new Error("simulated crash"));
    assertEquals(await pair.serverSide.receive(), null);
    assertEquals(pair.serverSide.closeReason, { kind: "eof" });
  } finally {
    await pair.close();
  }
});

Deno.test("SecureChannel packs many small messages into few frames", async () => {
  const server = startServer();
  let wireBytes = 0;
  const client = await dial({
    hostname: "127.0.0.1",
    port: server.port,
    identity: Identity.generate(),
    connect: async (hostname, port) => {
      const conn = await Deno.connect({ hostname, port });
      return {
        read: (p) => conn.read(p),
        write: (p) => {
          wireBytes += p.length;
          return conn.write(p);
        },
        close: () => conn.close(),
      };
    },
  });
  const serverSide = await server.nextSession();
  try {
    const handshakeBytes = wireBytes;
    const messages = Array.from({ length: 1000 }, (_, i) => pattern(10, i));
    await Promise.all(messages.map((m) => client.send(m)));
    // 1000 × (4 + 10) bytes of stream: one frame, not 1000 (which would
    // add 19 bytes of framing and tag each).
    assert(
      wireBytes - handshakeBytes < 14_000 + 100,
      `${wireBytes - handshakeBytes} bytes`,
    );
    for (const m of messages) assertEquals(await serverSide.receive(), m);
  } finally {
    await client.close();
    await serverSide.close();
    await server.close();
  }
});
