import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { assertEquals, assertStrictEquals, assertThrows } from "../assert.ts";
import { DecryptError, NonceExhaustedError } from "../../src/crypto/errors.ts";
import {
  MAX_PLAINTEXT,
  REKEY_INTERVAL,
  TransportCipher,
} from "../../src/crypto/transport_cipher.ts";
import { SeededRandom } from "./_random.ts";

const EMPTY = new Uint8Array(0);

/** Independent reference: ChaCha20-Poly1305 from @noble/ciphers with the Noise nonce. */
function referenceNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

function referenceSeal(
  key: Uint8Array,
  n: bigint,
  plaintext: Uint8Array,
): Uint8Array {
  return chacha20poly1305(key, referenceNonce(n), EMPTY).encrypt(plaintext);
}

/** Noise §11.3: REKEY(k) = ENCRYPT(k, 2^64-1, zerolen, zeros)[:32]. */
function referenceRekey(key: Uint8Array): Uint8Array {
  return referenceSeal(key, (1n << 64n) - 1n, new Uint8Array(32)).slice(0, 32);
}

function pair(key: Uint8Array, initialNonce = 0n) {
  return {
    sender: new TransportCipher(key, { initialNonce }),
    receiver: new TransportCipher(key, { initialNonce }),
  };
}

Deno.test("TransportCipher round-trips messages and matches the reference AEAD", () => {
  const random = new SeededRandom(11);
  const key = random.bytes(32);
  const { sender, receiver } = pair(key);
  const lengths = [0, 1, 16, 1000, MAX_PLAINTEXT, 0, 65536 - 16 - 1];
  for (const [n, length] of lengths.entries()) {
    const plaintext = random.bytes(length);
    const sealed = sender.seal(plaintext);
    assertEquals(sealed, referenceSeal(key, BigInt(n), plaintext));
    assertEquals(receiver.open(sealed), plaintext);
  }
  assertStrictEquals(sender.nonce, BigInt(lengths.length));
  assertStrictEquals(receiver.nonce, BigInt(lengths.length));
});

Deno.test("TransportCipher rekeys every 2^20 messages as Noise §11.3 REKEY", () => {
  assertStrictEquals(REKEY_INTERVAL, 2 ** 20);
  const random = new SeededRandom(12);
  const k0 = random.bytes(32);
  const k1 = referenceRekey(k0);
  const k2 = referenceRekey(k1);
  const interval = BigInt(REKEY_INTERVAL);
  // Each cipher starts with k0 as the key in use at its first nonce.
  const { sender, receiver } = pair(k0, interval - 2n);
  const expected: [bigint, Uint8Array][] = [
    [interval - 2n, k0],
    [interval - 1n, k0],
    [interval, k1],
    [interval + 1n, k1],
  ];
  for (const [n, key] of expected) {
    const plaintext = random.bytes(40);
    const sealed = sender.seal(plaintext);
    assertEquals(sealed, referenceSeal(key, n, plaintext), `nonce ${n}`);
    assertEquals(receiver.open(sealed), plaintext);
  }

  const second = pair(k1, 2n * interval - 1n);
  const last = random.bytes(10);
  assertEquals(
    second.sender.seal(last),
    referenceSeal(k1, 2n * interval - 1n, last),
  );
  const next = random.bytes(10);
  assertEquals(
    second.sender.seal(next),
    referenceSeal(k2, 2n * interval, next),
  );
});

Deno.test("TransportCipher carries the counter past 2^32 (and rekeys there)", () => {
  const key = new SeededRandom(13).bytes(32);
  const start = (1n << 32n) - 1n;
  const { sender, receiver } = pair(key, start);
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([4, 5, 6]);
  const sealedA = sender.seal(a);
  const sealedB = sender.seal(b);
  assertEquals(sealedA, referenceSeal(key, start, a));
  assertEquals(sealedB, referenceSeal(referenceRekey(key), start + 1n, b));
  assertStrictEquals(sender.nonce, 1n << 32n | 1n);
  assertEquals(receiver.open(sealedA), a);
  assertEquals(receiver.open(sealedB), b);
});

Deno.test("TransportCipher refuses nonce 2^64-1", () => {
  const key = new SeededRandom(14).bytes(32);
  const { sender, receiver } = pair(key, (1n << 64n) - 2n);
  const sealed = sender.seal(new Uint8Array([7]));
  assertEquals(receiver.open(sealed), new Uint8Array([7]));
  assertThrows(() => sender.seal(new Uint8Array([8])), NonceExhaustedError);
  assertThrows(() => receiver.open(sealed), DecryptError);
});

Deno.test("TransportCipher.open() throws DecryptError on a flipped bit and stays closed", () => {
  const key = new SeededRandom(15).bytes(32);
  const { sender, receiver } = pair(key);
  const first = sender.seal(new Uint8Array(100).fill(1));
  const second = sender.seal(new Uint8Array(100).fill(2));
  const tampered = first.slice();
  tampered[50]! ^= 0x04;
  assertThrows(() => receiver.open(tampered), DecryptError);
  // Any failure closes the direction, even for the genuine message.
  assertThrows(() => receiver.open(first), DecryptError);
  assertThrows(() => receiver.open(second), DecryptError);
});

Deno.test("TransportCipher.openInto() opens in order into one buffer, and stays closed after a failure", () => {
  const key = new SeededRandom(16).bytes(32);
  const { sender, receiver } = pair(key);
  const out = new Uint8Array(MAX_PLAINTEXT);
  for (let i = 0; i < 3; i++) {
    const message = new Uint8Array(1000 * (i + 1)).fill(i + 1);
    const n = receiver.openInto(sender.seal(message), out, 0);
    assertEquals(out.subarray(0, n), message);
  }
  const tampered = sender.seal(new Uint8Array(100));
  tampered[3]! ^= 0x10;
  assertThrows(() => receiver.openInto(tampered, out, 0), DecryptError);
  assertThrows(
    () => receiver.openInto(sender.seal(new Uint8Array(1)), out, 0),
    DecryptError,
  );
});

Deno.test("TransportCipher.open() throws DecryptError on a replayed message", () => {
  const key = new SeededRandom(16).bytes(32);
  const { sender, receiver } = pair(key);
  const first = sender.seal(new Uint8Array([1]));
  assertEquals(receiver.open(first), new Uint8Array([1]));
  assertThrows(() => receiver.open(first), DecryptError);
});

Deno.test("TransportCipher.open() throws DecryptError on reordered messages", () => {
  const key = new SeededRandom(17).bytes(32);
  const { sender, receiver } = pair(key);
  sender.seal(new Uint8Array([1]));
  const second = sender.seal(new Uint8Array([2]));
  assertThrows(() => receiver.open(second), DecryptError);
});

Deno.test("TransportCipher.open() throws DecryptError for a tampered tag, a truncated or oversized message", () => {
  const key = new SeededRandom(18).bytes(32);
  for (
    const mangle of [
      (m: Uint8Array) => m.subarray(0, m.length - 1),
      (m: Uint8Array) => m.subarray(0, 15),
      () => new Uint8Array(0),
      () => new Uint8Array(65536),
      (m: Uint8Array) => {
        const c = m.slice();
        c[c.length - 1]! ^= 1;
        return c;
      },
    ]
  ) {
    const { sender, receiver } = pair(key);
    const sealed = sender.seal(new Uint8Array(64));
    assertThrows(() => receiver.open(mangle(sealed)), DecryptError);
  }
});

Deno.test("TransportCipher.seal() rejects plaintext over 65519 bytes", () => {
  const sender = new TransportCipher(new Uint8Array(32));
  assertStrictEquals(MAX_PLAINTEXT, 65519);
  assertThrows(() => sender.seal(new Uint8Array(65520)), RangeError);
  assertStrictEquals(sender.nonce, 0n);
  assertStrictEquals(sender.seal(new Uint8Array(65519)).length, 65535);
});

Deno.test("TransportCipher rejects bad keys and initial nonces", () => {
  assertThrows(() => new TransportCipher(new Uint8Array(16)), RangeError);
  assertThrows(
    () => new TransportCipher(new Uint8Array(32), { initialNonce: -1n }),
    RangeError,
  );
  assertThrows(
    () => new TransportCipher(new Uint8Array(32), { initialNonce: 1n << 64n }),
    RangeError,
  );
});

Deno.test("TransportCipher.sealInto() writes what seal() returns, at an offset", () => {
  const key = new SeededRandom(19).bytes(32);
  const a = new TransportCipher(key);
  const b = new TransportCipher(key);
  const receiver = new TransportCipher(key);
  const plaintext = new SeededRandom(20).bytes(1000);
  const out = new Uint8Array(2 + 1016 + 5).fill(0xee);
  assertStrictEquals(a.sealInto(plaintext, out, 2), 1016);
  const sealed = b.seal(plaintext);
  assertEquals(out.subarray(2, 1018), sealed);
  assertEquals(out.subarray(0, 2), new Uint8Array([0xee, 0xee]));
  assertEquals(out.subarray(1018), new Uint8Array(5).fill(0xee));
  assertEquals(receiver.open(out.subarray(2, 1018)), plaintext);
  // No room: nothing is consumed.
  assertThrows(() => a.sealInto(plaintext, out, 10), RangeError);
  assertStrictEquals(a.nonce, 1n);
});

Deno.test("TransportCipher.startSeal() seals pieces like seal(), rekeying alike", () => {
  const random = new SeededRandom(21);
  const key = random.bytes(32);
  const start = BigInt(REKEY_INTERVAL) - 2n;
  const streamed = new TransportCipher(key, { initialNonce: start });
  const whole = new TransportCipher(key, { initialNonce: start });
  const receiver = new TransportCipher(key, { initialNonce: start });
  // Across the rekey at 2^20: nonces 2^20-2 .. 2^20+1.
  for (const length of [MAX_PLAINTEXT, 0, 5000, 1]) {
    const plaintext = random.bytes(length);
    const out = new Uint8Array(length + 16);
    const seal = streamed.startSeal();
    let at = 0;
    for (const cut of [0, 1, 4, 8192, length]) {
      const end = Math.min(Math.max(cut, at), length);
      at += seal.update(plaintext.subarray(at, end), out, at);
    }
    assertStrictEquals(seal.length, length);
    seal.finish(out, at);
    assertEquals(out, whole.seal(plaintext), `length ${length}`);
    assertEquals(receiver.open(out), plaintext);
  }
  assertStrictEquals(streamed.nonce, start + 4n);
});

Deno.test("TransportSeal refuses more than MAX_PLAINTEXT bytes in all", () => {
  const cipher = new TransportCipher(new Uint8Array(32));
  const seal = cipher.startSeal();
  const out = new Uint8Array(MAX_PLAINTEXT + 32);
  seal.update(new Uint8Array(MAX_PLAINTEXT - 1), out, 0);
  assertThrows(() => seal.update(new Uint8Array(2), out, 0), RangeError);
  seal.update(new Uint8Array(1), out, MAX_PLAINTEXT - 1);
  assertStrictEquals(seal.finish(out, MAX_PLAINTEXT), 16);
  // The nonce was used when the seal started.
  assertStrictEquals(cipher.nonce, 1n);
});

Deno.test("TransportCipher.startSeal() refuses nonce 2^64-1", () => {
  const cipher = new TransportCipher(new Uint8Array(32), {
    initialNonce: (1n << 64n) - 1n,
  });
  assertThrows(() => cipher.startSeal(), NonceExhaustedError);
});
