import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  assertEquals,
  assertNotEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { generateKeyPair } from "../../src/crypto/dh.ts";
import {
  DecryptError,
  HandshakeError,
  NonceExhaustedError,
} from "../../src/crypto/errors.ts";
import {
  CipherState,
  HandshakeState,
  rekeyKey,
} from "../../src/crypto/noise.ts";
import { SeededRandom } from "./_random.ts";

const PROLOGUE = new TextEncoder().encode("test");
const EMPTY = new Uint8Array(0);

function states() {
  return {
    initiator: new HandshakeState({
      initiator: true,
      prologue: PROLOGUE,
      staticKeyPair: generateKeyPair(),
    }),
    responder: new HandshakeState({
      initiator: false,
      prologue: PROLOGUE,
      staticKeyPair: generateKeyPair(),
    }),
  };
}

Deno.test("HandshakeState refuses to write or read out of turn", () => {
  const { initiator, responder } = states();
  assertThrows(() => responder.writeMessage(EMPTY), Error, "Cannot write");
  assertThrows(
    () => initiator.readMessage(new Uint8Array(32)),
    Error,
    "Cannot read",
  );
  assertThrows(
    () => initiator.split(),
    Error,
    "before the handshake is complete",
  );
});

Deno.test("HandshakeState.readMessage() throws HandshakeError for short or oversize messages", () => {
  assertThrows(
    () => states().responder.readMessage(new Uint8Array(31)),
    HandshakeError,
  );
  assertThrows(
    () => states().responder.readMessage(new Uint8Array(65536)),
    HandshakeError,
  );
  // Message 2 is e (32) ‖ enc(s) (48) ‖ enc(payload) (>= 16).
  for (const length of [0, 31, 32, 79, 80, 95]) {
    const { initiator, responder } = states();
    responder.readMessage(initiator.writeMessage(EMPTY));
    const second = responder.writeMessage(EMPTY);
    assertStrictEquals(second.length, 96);
    assertThrows(
      () => initiator.readMessage(second.subarray(0, length)),
      HandshakeError,
      undefined,
      `length ${length}`,
    );
  }
});

Deno.test("HandshakeState is unusable after a failed read", () => {
  const { initiator, responder } = states();
  responder.readMessage(initiator.writeMessage(EMPTY));
  const second = responder.writeMessage(EMPTY);
  const tampered = second.slice();
  tampered[40]! ^= 1;
  assertThrows(() => initiator.readMessage(tampered), DecryptError);
  assertThrows(() => initiator.readMessage(second), Error, "unusable");
  assertThrows(() => initiator.writeMessage(EMPTY), Error, "unusable");
});

Deno.test("HandshakeState exposes the payload hash used as associated data", () => {
  const { initiator, responder } = states();
  responder.readMessage(initiator.writeMessage(EMPTY));
  let seen: Uint8Array | undefined;
  const second = responder.writeMessage((h) => {
    seen = h;
    return new Uint8Array([1, 2, 3]);
  });
  assertEquals(responder.payloadHash, seen);
  assertEquals(initiator.readMessage(second), new Uint8Array([1, 2, 3]));
  assertEquals(initiator.payloadHash, seen);
  assertNotEquals(initiator.handshakeHash, seen);
});

Deno.test("rekeyKey() is ENCRYPT(k, 2^64-1, empty, 32 zeros)[:32]", () => {
  const key = new SeededRandom(3).bytes(32);
  const nonce = new Uint8Array(12);
  nonce.fill(0xff, 4);
  const expected = chacha20poly1305(key, nonce, EMPTY)
    .encrypt(new Uint8Array(32))
    .subarray(0, 32);
  assertEquals(rekeyKey(key), expected);
});

Deno.test("CipherState passes data through without a key and refuses nonce 2^64-1", () => {
  const cipher = new CipherState();
  assertEquals(
    cipher.encryptWithAd(EMPTY, new Uint8Array([5])),
    new Uint8Array([5]),
  );
  cipher.initializeKey(new Uint8Array(32));
  cipher.setNonce((1n << 64n) - 2n);
  cipher.encryptWithAd(EMPTY, EMPTY);
  assertThrows(() => cipher.encryptWithAd(EMPTY, EMPTY), NonceExhaustedError);
  assertThrows(
    () => cipher.decryptWithAd(EMPTY, new Uint8Array(16)),
    NonceExhaustedError,
  );
});

Deno.test("CipherState.rekey() keeps the nonce and changes the key", () => {
  const key = new SeededRandom(4).bytes(32);
  const a = new CipherState();
  a.initializeKey(key);
  a.setNonce(9n);
  a.rekey();
  assertStrictEquals(a.nonce, 9n);
  assertEquals(a.key, rekeyKey(key));
});
