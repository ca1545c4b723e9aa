/**
 * Seeded, bounded fuzzing of the handshake state machine: an honest
 * initiator and responder talk through a relay that mutates, truncates,
 * replaces or reorders one of the three messages, or one side talks to a
 * peer that sends random bytes. Every run must end, each side with a session
 * or a `HandshakeError` (subclasses included); a side that received altered
 * bytes never ends with a session.
 */
import { HandshakeError } from "../../src/crypto/errors.ts";
import {
  MESSAGE_LENGTHS,
  secureHandshake,
  type SecureSession,
} from "../../src/crypto/handshake.ts";
import { Identity } from "../../src/identity/identity.ts";
import { assert, assertEquals } from "../assert.ts";
import { duplexPipe, type PipeEnd } from "./_pipe.ts";
import { SeededRandom } from "./_random.ts";

/**
 * A pipe end whose write returns a rejected promise instead of throwing
 * (the `HandshakeIO` contract; a socket behaves so).
 */
function asyncEnd(end: PipeEnd): PipeEnd {
  return {
    write: (bytes) => {
      try {
        return end.write(bytes);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    readExact: (n) => end.readExact(n),
    close: () => end.close(),
  };
}

/** Outcome of one side: a session or the error it ended with. */
type Outcome = { session: SecureSession } | { error: unknown };

/** Runs one side under a deadline; a timeout counts as a hang (test failure). */
async function side(
  role: "initiator" | "responder",
  io: PipeEnd,
  identity: Identity,
): Promise<Outcome> {
  const controller = new AbortController();
  const hang = new Error(`${role} hung`);
  const timer = setTimeout(() => controller.abort(hang), 5_000);
  try {
    return {
      session: await secureHandshake(asyncEnd(io), {
        role,
        identity,
        signal: controller.signal,
      }),
    };
  } catch (error) {
    if (error === hang) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
    io.close();
  }
}

function mutate(bytes: Uint8Array, random: SeededRandom): Uint8Array {
  const out = Array.from(bytes);
  switch (random.below(6)) {
    case 0: {
      const at = random.below(out.length);
      out[at] = out[at]! ^ (1 << random.below(8));
      break;
    }
    case 1:
      out[random.below(out.length)] = random.below(256);
      break;
    case 2: // length prefix
      out[random.below(2)] = random.below(256);
      break;
    case 3:
      out.length = random.below(out.length);
      break;
    case 4:
      out.splice(
        random.below(out.length + 1),
        0,
        ...random.bytes(1 + random.below(8)),
      );
      break;
    case 5:
      return random.bytes(random.below(out.length + 10));
  }
  return Uint8Array.from(out);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

Deno.test("secureHandshake() ends with a session or a HandshakeError when a relay alters any message (seeded fuzz)", async () => {
  const random = new SeededRandom(0x4a4d5e);
  const identities = [Identity.generate(), Identity.generate()] as const;
  const failures = new Map<string, number>();
  for (let iteration = 0; iteration < 150; iteration++) {
    const [initiatorEnd, relayI] = duplexPipe();
    const [relayR, responderEnd] = duplexPipe();
    const target = random.below(3);
    let altered = false;
    const relay = (async () => {
      try {
        for (let index = 0; index < 3; index++) {
          const [from, to] = index === 1 ? [relayR, relayI] : [relayI, relayR];
          const length = MESSAGE_LENGTHS[index]!;
          const message = await from.readExact(2 + length);
          if (index !== target) {
            await to.write(message);
            continue;
          }
          const bad = mutate(message, random);
          altered = !sameBytes(bad, message);
          await to.write(bad);
          // An attacker that sent a short message stops talking.
          relayI.close();
          relayR.close();
          return;
        }
      } catch {
        // A side gave up and closed its end.
      }
    })();
    const [initiator, responder] = await Promise.all([
      side("initiator", initiatorEnd, identities[0]),
      side("responder", responderEnd, identities[1]),
    ]);
    relayI.close();
    relayR.close();
    await relay;
    for (const outcome of [initiator, responder]) {
      if ("error" in outcome) {
        const error = outcome.error;
        assert(
          error instanceof HandshakeError,
          `iteration ${iteration}: ${error}`,
        );
        failures.set(error.name, (failures.get(error.name) ?? 0) + 1);
      }
    }
    const receiver = target === 1 ? initiator : responder;
    if (altered) {
      assert(
        "error" in receiver,
        `iteration ${iteration}: altered message ${target + 1} was accepted`,
      );
    }
    if ("session" in initiator && "session" in responder) {
      assertEquals(
        initiator.session.handshakeHash,
        responder.session.handshakeHash,
      );
      assertEquals(initiator.session.peerId, identities[1].publicKey);
    }
  }
  assert(
    (failures.get("HandshakeError") ?? 0) > 0,
    JSON.stringify([...failures]),
  );
});

Deno.test("secureHandshake() answers random bytes with a HandshakeError on either side (seeded fuzz)", async () => {
  const random = new SeededRandom(0x7a11);
  const identity = Identity.generate();
  for (let iteration = 0; iteration < 300; iteration++) {
    const role = random.below(2) === 0 ? "initiator" : "responder";
    const [ours, theirs] = duplexPipe();
    const attacker = (async () => {
      try {
        const expected = MESSAGE_LENGTHS[role === "responder" ? 0 : 1]!;
        // Often a correct length prefix, so the body reaches the Noise layer.
        const prefix = random.below(2) === 0
          ? Uint8Array.of(expected >>> 8, expected & 0xff)
          : random.bytes(2);
        const body = random.bytes(
          random.below(3) === 0 ? random.below(400) : expected,
        );
        await theirs.write(prefix);
        await theirs.write(body);
      } finally {
        theirs.close();
      }
    })();
    const outcome = await side(role, ours, identity);
    await attacker;
    assert(
      "error" in outcome && outcome.error instanceof HandshakeError,
      `iteration ${iteration} (${role}): ${
        "error" in outcome ? outcome.error : "session"
      }`,
    );
  }
});
