import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
  fail,
} from "../assert.ts";
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromPrivate,
} from "../../src/crypto/dh.ts";
import {
  BadSignatureError,
  DecryptError,
  HandshakeError,
  IdentityMismatchError,
  LowOrderPointError,
} from "../../src/crypto/errors.ts";
import {
  decodeIdentityPayload,
  encodeIdentityPayload,
  MESSAGE_LENGTHS,
  PAYLOAD_LENGTH,
  PROLOGUE,
  secureHandshake,
  type SecureSession,
  signatureInput,
} from "../../src/crypto/handshake.ts";
import { HandshakeState } from "../../src/crypto/noise.ts";
import { Identity } from "../../src/identity/identity.ts";
import { DeviceKey, GroupSecret } from "../../src/group/mod.ts";
import { fromHex, toHex } from "./_hex.ts";
import { duplexPipe, frame, type PipeEnd, readFrame } from "./_pipe.ts";

/** Runs `promise`, expects rejection, returns the error. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  fail("Expected a rejection");
}

function assertSessionsMatch(a: SecureSession, b: SecureSession): void {
  assertEquals(a.handshakeHash, b.handshakeHash);
  for (const [from, to] of [[a, b], [b, a]] as const) {
    for (const text of ["one", "", "three"]) {
      const bytes = new TextEncoder().encode(text);
      assertEquals(to.receiver.open(from.sender.seal(bytes)), bytes);
    }
  }
}

Deno.test("secureHandshake() lets both sides learn each other's peer id", async () => {
  const alice = Identity.generate();
  const bob = Identity.generate();
  const [a, b] = duplexPipe();
  const [sa, sb] = await Promise.all([
    secureHandshake(a, {
      role: "initiator",
      identity: alice,
      expectedPeerId: bob.publicKey,
    }),
    secureHandshake(b, { role: "responder", identity: bob }),
  ]);
  assertEquals(sa.peerId, bob.publicKey);
  assertEquals(sb.peerId, alice.publicKey);
  assertStrictEquals(sa.handshakeHash.length, 32);
  assertSessionsMatch(sa, sb);
});

Deno.test("secureHandshake() sends messages of the documented lengths", async () => {
  const [a, b] = duplexPipe();
  const written: number[] = [];
  const spy: PipeEnd = {
    ...a,
    write: (bytes) => {
      written.push(bytes.length);
      return a.write(bytes);
    },
  };
  const spyB: PipeEnd = {
    ...b,
    write: (bytes) => {
      written.push(bytes.length);
      return b.write(bytes);
    },
  };
  await Promise.all([
    secureHandshake(spy, { role: "initiator", identity: Identity.generate() }),
    secureHandshake(spyB, { role: "responder", identity: Identity.generate() }),
  ]);
  assertEquals(MESSAGE_LENGTHS, [32, 322, 290]);
  assertEquals(written, MESSAGE_LENGTHS.map((n) => n + 2));
});

Deno.test("secureHandshake() rejects a responder other than expectedPeerId with IdentityMismatchError", async () => {
  const [a, b] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
    expectedPeerId: Identity.generate().publicKey,
  });
  const responder = secureHandshake(b, {
    role: "responder",
    identity: Identity.generate(),
  });
  const error = await rejection(initiator);
  assert(error instanceof IdentityMismatchError);
  assert(error instanceof HandshakeError);
  assertStrictEquals(error.name, "IdentityMismatchError");
  a.close();
  assert((await rejection(responder)) instanceof HandshakeError);
});

/**
 * Mallory sits between Alice (initiator) and Bob (responder), runs one Noise
 * handshake with each using her own keys, and relays identity payloads.
 */
Deno.test("secureHandshake() defeats a relaying man in the middle with BadSignatureError", async () => {
  const alice = Identity.generate();
  const bob = Identity.generate();
  const [aliceEnd, malloryToAlice] = duplexPipe();
  const [malloryToBob, bobEnd] = duplexPipe();
  const aliceSide = secureHandshake(aliceEnd, {
    role: "initiator",
    identity: alice,
  });
  const bobSide = secureHandshake(bobEnd, { role: "responder", identity: bob });

  const mallory = Identity.generate();
  const withAlice = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: mallory.noiseStatic,
  });
  const withBob = new HandshakeState({
    initiator: true,
    prologue: PROLOGUE,
    staticKeyPair: mallory.noiseStatic,
  });
  withAlice.readMessage(await readFrame(malloryToAlice));
  await malloryToBob.write(frame(withBob.writeMessage(new Uint8Array(0))));
  const bobPayload = withBob.readMessage(await readFrame(malloryToBob));
  assertEquals(decodeIdentityPayload(bobPayload).publicKey, bob.publicKey);
  // Bob's genuine, signed payload, relayed inside Mallory's own session.
  await malloryToAlice.write(frame(withAlice.writeMessage(bobPayload)));

  const error = await rejection(aliceSide);
  assert(error instanceof BadSignatureError, String(error));
  malloryToAlice.close();
  malloryToBob.close();
  assert((await rejection(bobSide)) instanceof HandshakeError);
});

Deno.test("secureHandshake() responder rejects an initiator payload relayed from another session", async () => {
  const alice = Identity.generate();
  const bob = Identity.generate();
  const mallory = Identity.generate();
  const [aliceEnd, malloryToAlice] = duplexPipe();
  const [malloryToBob, bobEnd] = duplexPipe();
  // Alice accepts any responder (open LAN): she completes with Mallory.
  const aliceSide = secureHandshake(aliceEnd, {
    role: "initiator",
    identity: alice,
  });
  const bobSide = secureHandshake(bobEnd, { role: "responder", identity: bob });

  const withAlice = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: mallory.noiseStatic,
  });
  const withBob = new HandshakeState({
    initiator: true,
    prologue: PROLOGUE,
    staticKeyPair: mallory.noiseStatic,
  });
  withAlice.readMessage(await readFrame(malloryToAlice));
  await malloryToAlice.write(
    frame(
      withAlice.writeMessage((h) =>
        encodeIdentityPayload(mallory, h, "responder")
      ),
    ),
  );
  const alicePayload = withAlice.readMessage(await readFrame(malloryToAlice));
  const aliceSession = await aliceSide;
  assertEquals(aliceSession.peerId, mallory.publicKey); // not Bob

  await malloryToBob.write(frame(withBob.writeMessage(new Uint8Array(0))));
  withBob.readMessage(await readFrame(malloryToBob));
  await malloryToBob.write(frame(withBob.writeMessage(alicePayload)));
  const error = await rejection(bobSide);
  assert(error instanceof BadSignatureError, String(error));
  malloryToAlice.close();
  malloryToBob.close();
});

Deno.test("secureHandshake() rejects a signature without the dsync/2 identity context", async () => {
  const bob = Identity.generate();
  const [a, b] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
  });
  const state = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: bob.noiseStatic,
  });
  state.readMessage(await readFrame(b));
  await b.write(frame(state.writeMessage((h) => {
    const payload = encodeIdentityPayload(bob, h, "responder");
    assertStrictEquals(payload.length, PAYLOAD_LENGTH);
    payload.set(bob.sign(h), 33); // h alone, no context prefix
    return payload;
  })));
  assert((await rejection(initiator)) instanceof BadSignatureError);
  b.close();
});

Deno.test("secureHandshake() rejects an identity payload with an unknown version", async () => {
  const bob = Identity.generate();
  const [a, b] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
  });
  const state = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: bob.noiseStatic,
  });
  state.readMessage(await readFrame(b));
  await b.write(frame(state.writeMessage((h) => {
    const payload = encodeIdentityPayload(bob, h, "responder");
    payload[0] = 3;
    return payload;
  })));
  const error = await rejection(initiator);
  assert(error instanceof HandshakeError);
  assertStrictEquals((error as Error).name, "HandshakeError");
  b.close();
});

const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (≡ 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (≡ 1)
  "0000000000000000000000000000000000000000000000000000000000000080", // 0 with bit 255 set
];

Deno.test("secureHandshake() responder rejects a low-order ephemeral key with LowOrderPointError", async () => {
  for (const point of LOW_ORDER_POINTS) {
    const [a, b] = duplexPipe();
    const responder = secureHandshake(b, {
      role: "responder",
      identity: Identity.generate(),
    });
    await a.write(frame(fromHex(point)));
    const error = await rejection(responder);
    assert(error instanceof LowOrderPointError, `${point}: ${error}`);
    a.close();
  }
});

Deno.test("secureHandshake() initiator rejects a low-order responder ephemeral key with LowOrderPointError", async () => {
  for (const point of LOW_ORDER_POINTS.slice(0, 3)) {
    const [a, b] = duplexPipe();
    const initiator = secureHandshake(a, {
      role: "initiator",
      identity: Identity.generate(),
    });
    await readFrame(b);
    const message = new Uint8Array(MESSAGE_LENGTHS[1]);
    message.set(fromHex(point), 0);
    await b.write(frame(message));
    const error = await rejection(initiator);
    assert(error instanceof LowOrderPointError, `${point}: ${error}`);
    b.close();
  }
});

Deno.test("secureHandshake() rejects a low-order static key with LowOrderPointError", async () => {
  const lowOrderStatic: KeyPair = {
    publicKey: new Uint8Array(32),
    privateKey: generateKeyPair().privateKey,
  };
  const [a, b] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
  });
  const state = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: lowOrderStatic,
  });
  state.readMessage(await readFrame(b));
  const bob = Identity.generate();
  // Mallory announces an all-zero static key; the initiator's "es" must refuse it.
  await b.write(
    frame(
      state.writeMessage((h) => encodeIdentityPayload(bob, h, "responder")),
    ),
  );
  const error = await rejection(initiator);
  assert(error instanceof LowOrderPointError, String(error));
  b.close();
});

Deno.test("secureHandshake() rejects wrong lengths, truncation and garbage with HandshakeError", async () => {
  const cases: {
    name: string;
    role: "initiator" | "responder";
    feed: (end: PipeEnd) => Promise<void>;
  }[] = [
    {
      name: "short message 1",
      role: "responder",
      feed: (end) => end.write(frame(new Uint8Array(31))),
    },
    {
      name: "oversize message 1",
      role: "responder",
      feed: (end) => end.write(Uint8Array.of(0xff, 0xff)),
    },
    {
      name: "message 1 with a payload",
      role: "responder",
      feed: (end) => end.write(frame(new Uint8Array(40).fill(9))),
    },
    {
      name: "zero-length message 1",
      role: "responder",
      feed: (end) => end.write(Uint8Array.of(0, 0)),
    },
    {
      name: "stream ends inside the length prefix",
      role: "responder",
      feed: async (end) => {
        await end.write(Uint8Array.of(0));
        end.close();
      },
    },
    {
      name: "stream ends inside message 1",
      role: "responder",
      feed: async (end) => {
        await end.write(frame(new Uint8Array(32)).subarray(0, 12));
        end.close();
      },
    },
    {
      name: "garbage message 2",
      role: "initiator",
      feed: async (end) => {
        await readFrame(end);
        const garbage = new Uint8Array(MESSAGE_LENGTHS[1]);
        crypto.getRandomValues(garbage);
        garbage.set(generateKeyPair().publicKey, 0);
        await end.write(frame(garbage));
      },
    },
    {
      name: "message 2 of message 3's length",
      role: "initiator",
      feed: async (end) => {
        await readFrame(end);
        await end.write(frame(new Uint8Array(MESSAGE_LENGTHS[2])));
      },
    },
    {
      name: "oversize message 2",
      role: "initiator",
      feed: async (end) => {
        await readFrame(end);
        await end.write(Uint8Array.of(0xff, 0xff));
      },
    },
  ];
  for (const { name, role, feed } of cases) {
    const [a, b] = duplexPipe();
    const side = secureHandshake(a, { role, identity: Identity.generate() });
    await feed(b);
    const error = await rejection(side);
    assert(error instanceof HandshakeError, `${name}: ${error}`);
    a.close();
  }
});

Deno.test("secureHandshake() reports a tampered message 2 as HandshakeError caused by DecryptError", async () => {
  const [a, b] = duplexPipe();
  const [c, d] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
  });
  const responder = secureHandshake(d, {
    role: "responder",
    identity: Identity.generate(),
  });
  await c.write(frame(await readFrame(b)));
  const second = await readFrame(c);
  second[100]! ^= 1;
  await b.write(frame(second));
  const error = await rejection(initiator);
  assert(error instanceof HandshakeError);
  assert((error as Error).cause instanceof DecryptError);
  c.close();
  assert((await rejection(responder)) instanceof HandshakeError);
});

Deno.test("secureHandshake() fails when the peer uses another prologue", async () => {
  const [a, b] = duplexPipe();
  const initiator = secureHandshake(a, {
    role: "initiator",
    identity: Identity.generate(),
  });
  const bob = Identity.generate();
  const state = new HandshakeState({
    initiator: false,
    prologue: new TextEncoder().encode("dsync/3"),
    staticKeyPair: bob.noiseStatic,
  });
  state.readMessage(await readFrame(b));
  await b.write(
    frame(
      state.writeMessage((h) => encodeIdentityPayload(bob, h, "responder")),
    ),
  );
  assert((await rejection(initiator)) instanceof HandshakeError);
  b.close();
});

Deno.test("secureHandshake() rejects with the abort reason when the signal fires", async () => {
  const [a, b] = duplexPipe();
  const controller = new AbortController();
  const responder = secureHandshake(b, {
    role: "responder",
    identity: Identity.generate(),
    signal: controller.signal,
  });
  const reason = new Error("deadline");
  controller.abort(reason);
  assertStrictEquals(await rejection(responder), reason);
  a.close();

  const already = AbortSignal.abort(reason);
  assertStrictEquals(
    await rejection(
      secureHandshake(a, {
        role: "initiator",
        identity: Identity.generate(),
        signal: already,
      }),
    ),
    reason,
  );
});

Deno.test("decodeIdentityPayload() accepts exactly version 2 and 226 bytes", () => {
  const identity = Identity.generate();
  const h = new Uint8Array(32).fill(3);
  const payload = encodeIdentityPayload(identity, h, "initiator");
  assertStrictEquals(payload.length, 226);
  const decoded = decodeIdentityPayload(payload);
  assertEquals(decoded.publicKey, identity.publicKey);
  assertEquals(decoded.signature, identity.sign(signatureInput(h)));
  assertThrows(
    () => decodeIdentityPayload(payload.subarray(0, 96)),
    HandshakeError,
  );
  assertThrows(
    () => decodeIdentityPayload(new Uint8Array([...payload, 0])),
    HandshakeError,
  );
  assertThrows(() => decodeIdentityPayload(new Uint8Array(0)), HandshakeError);
  const v0 = payload.slice();
  v0[0] = 0;
  assertThrows(() => decodeIdentityPayload(v0), HandshakeError);
});

Deno.test("signatureInput() is the ASCII context followed by h", () => {
  const h = new Uint8Array(32).fill(0xab);
  const input = signatureInput(h);
  assertStrictEquals(
    new TextDecoder().decode(input.subarray(0, 16)),
    "dsync/2 identity",
  );
  assertEquals(input.subarray(16), h);
  assertStrictEquals(input.length, 48);
});

Deno.test("secureHandshake() reproduces the documented dsync/2 handshake transcript", async () => {
  const v = JSON.parse(
    await Deno.readTextFile(
      new URL("../testdata/dsync_handshake_vector.json", import.meta.url),
    ),
  ) as Record<string, string> & {
    wire_messages: string[];
    transport: { from: string; plaintext: string; message: string }[];
  };
  const membership = GroupSecret.fromBytes(fromHex(v.group_secret!))
    .membership;
  const initiator = Identity.fromKeys(
    fromHex(v.initiator_ed25519_seed!),
    keyPairFromPrivate(fromHex(v.initiator_static!)),
    {
      device: DeviceKey.fromSeed(fromHex(v.initiator_device_seed!)),
      membership,
    },
  );
  const responder = Identity.fromKeys(
    fromHex(v.responder_ed25519_seed!),
    keyPairFromPrivate(fromHex(v.responder_static!)),
    {
      device: DeviceKey.fromSeed(fromHex(v.responder_device_seed!)),
      membership,
    },
  );
  assertStrictEquals(toHex(initiator.publicKey), v.initiator_peer_id);
  assertStrictEquals(toHex(responder.publicKey), v.responder_peer_id);
  const [a, b] = duplexPipe();
  const wire: string[] = [];
  const spy = (end: PipeEnd): PipeEnd => ({
    ...end,
    write: (bytes) => {
      wire.push(toHex(bytes));
      return end.write(bytes);
    },
  });
  const [si, sr] = await Promise.all([
    secureHandshake(spy(a), {
      role: "initiator",
      identity: initiator,
      expectedPeerId: responder.publicKey,
      ephemeralKeyPair: keyPairFromPrivate(fromHex(v.initiator_ephemeral!)),
    }),
    secureHandshake(spy(b), {
      role: "responder",
      identity: responder,
      ephemeralKeyPair: keyPairFromPrivate(fromHex(v.responder_ephemeral!)),
    }),
  ]);
  assertEquals(wire, v.wire_messages);
  assertStrictEquals(toHex(si.handshakeHash), v.handshake_hash);
  assertStrictEquals(toHex(sr.handshakeHash), v.handshake_hash);
  for (const { from, plaintext, message } of v.transport) {
    const [sender, receiver] = from === "initiator" ? [si, sr] : [sr, si];
    const sealed = sender.sender.seal(fromHex(plaintext));
    assertStrictEquals(toHex(sealed), message);
    assertStrictEquals(toHex(receiver.receiver.open(sealed)), plaintext);
  }
});
