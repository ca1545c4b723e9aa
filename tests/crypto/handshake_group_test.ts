/**
 * Group membership in the handshake: both sides prove the group before the
 * first application message, the proofs are bound to this session's `h`, a
 * device with no group can only ask to join, and the device key endorses
 * the session key.
 */
import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import {
  BadSignatureError,
  HandshakeError,
  NotGroupMemberError,
} from "../../src/crypto/errors.ts";
import {
  decodeIdentityPayload,
  encodeIdentityPayload,
  PROLOGUE,
  secureHandshake,
} from "../../src/crypto/handshake.ts";
import { JOIN_MEMBERSHIP } from "../../src/crypto/membership.ts";
import { HandshakeState } from "../../src/crypto/noise.ts";
import { DeviceKey, GroupSecret } from "../../src/group/mod.ts";
import { Identity } from "../../src/identity/identity.ts";
import { duplexPipe, frame, readFrame } from "./_pipe.ts";

const GROUP = GroupSecret.generate();
const OTHER = GroupSecret.generate();

function member(group: GroupSecret = GROUP, device?: DeviceKey): Identity {
  return Identity.generate({
    membership: group.membership,
    ...(device === undefined ? {} : { device }),
  });
}

async function settle<T>(p: Promise<T>): Promise<T | Error> {
  try {
    return await p;
  } catch (error) {
    return error as Error;
  }
}

Deno.test("secureHandshake() connects two members of one group and names their devices", async () => {
  const deviceA = DeviceKey.fromSeed(new Uint8Array(32).fill(1));
  const deviceB = DeviceKey.fromSeed(new Uint8Array(32).fill(2));
  const [a, b] = duplexPipe();
  const [sa, sb] = await Promise.all([
    secureHandshake(a, { role: "initiator", identity: member(GROUP, deviceA) }),
    secureHandshake(b, { role: "responder", identity: member(GROUP, deviceB) }),
  ]);
  assertStrictEquals(sa.peerMode, "member");
  assertStrictEquals(sb.peerMode, "member");
  assertEquals(sa.peerDevice, deviceB.publicKey);
  assertEquals(sb.peerDevice, deviceA.publicKey);
});

for (
  const [name, initiator, responder] of [
    ["another group", GROUP, OTHER],
    ["the open pseudo-group", GROUP, GroupSecret.open()],
    ["a group, dialed by an open instance", GroupSecret.open(), GROUP],
  ] as const
) {
  Deno.test(`secureHandshake() refuses ${name} on both sides with NotGroupMemberError`, async () => {
    const [a, b] = duplexPipe();
    const [ea, eb] = await Promise.all([
      settle(
        secureHandshake(a, { role: "initiator", identity: member(initiator) }),
      ),
      settle(
        secureHandshake(b, { role: "responder", identity: member(responder) }),
      ),
    ]);
    assert(ea instanceof NotGroupMemberError, String(ea));
    assert(eb instanceof NotGroupMemberError, String(eb));
  });
}

Deno.test("secureHandshake() gives a device without a group a join session, nothing more", async () => {
  const [a, b] = duplexPipe();
  const joiner = Identity.generate({ membership: JOIN_MEMBERSHIP });
  const [sa, sb] = await Promise.all([
    secureHandshake(a, { role: "initiator", identity: joiner }),
    secureHandshake(b, { role: "responder", identity: member() }),
  ]);
  assertStrictEquals(sb.peerMode, "join");
  assertStrictEquals(sa.peerMode, "member");
  // A responder never asks to join.
  assertThrows(
    () => encodeIdentityPayload(joiner, new Uint8Array(32), "responder"),
    TypeError,
  );
});

Deno.test("secureHandshake() refuses a membership proof copied from another session", async () => {
  // Mallory knows no secret; she replays Bob's proof of an earlier session.
  const bob = member();
  const h1 = new Uint8Array(32).fill(9);
  const oldProof = decodeIdentityPayload(
    encodeIdentityPayload(bob, h1, "responder"),
  ).proof;
  const mallory = Identity.generate({ membership: OTHER.membership });
  const [a, b] = duplexPipe();
  const initiator = settle(
    secureHandshake(a, { role: "initiator", identity: member() }),
  );
  const state = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: mallory.noiseStatic,
  });
  state.readMessage(await readFrame(b));
  await b.write(frame(state.writeMessage((h) => {
    const payload = encodeIdentityPayload(mallory, h, "responder");
    payload.set(oldProof, payload.length - 32);
    return payload;
  })));
  const error = await initiator;
  assert(error instanceof NotGroupMemberError, String(error));
  b.close();
});

Deno.test("secureHandshake() refuses a device endorsement of another session key", async () => {
  const bob = member();
  const [a, b] = duplexPipe();
  const initiator = settle(
    secureHandshake(a, { role: "initiator", identity: member() }),
  );
  const state = new HandshakeState({
    initiator: false,
    prologue: PROLOGUE,
    staticKeyPair: bob.noiseStatic,
  });
  state.readMessage(await readFrame(b));
  await b.write(frame(state.writeMessage((h) => {
    const payload = encodeIdentityPayload(bob, h, "responder");
    const at = 1 + 32 + 64 + 32; // the endorsement's first byte
    payload[at] = payload[at]! ^ 1;
    return payload;
  })));
  const error = await initiator;
  assert(error instanceof BadSignatureError, String(error));
  assert(error instanceof HandshakeError);
  b.close();
});
