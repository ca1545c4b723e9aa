import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { assertEquals, assertStrictEquals, assertThrows } from "../assert.ts";
import {
  aeadOpen,
  aeadOpenInto,
  aeadSeal,
  AeadSealStream,
  importAeadKey,
  noiseNonce,
  TAG_LENGTH,
} from "../../src/crypto/aead.ts";
import { DecryptError } from "../../src/crypto/errors.ts";
import { fromHex, toHex } from "./_hex.ts";
import { SeededRandom } from "./_random.ts";

const MAX_PLAINTEXT = 65535 - 16;

Deno.test("aeadSeal() matches the RFC 8439 §2.8.2 test vector", () => {
  const key = importAeadKey(
    fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  );
  const nonce = fromHex("070000004041424344454647");
  const ad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const plaintext = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const expected =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
    "3ff4def08e4b7a9de576d26586cec64b6116" +
    "1ae10b594f09e26a7e902ecbd0600691";
  const sealed = aeadSeal(key, nonce, ad, plaintext);
  assertStrictEquals(toHex(sealed), expected);
  assertEquals(aeadOpen(key, nonce, ad, sealed), plaintext);
});

Deno.test("aeadSeal() and aeadOpen() agree with @noble/ciphers on random inputs", () => {
  const random = new SeededRandom(0x5eed);
  const lengths = [
    0,
    1,
    15,
    16,
    17,
    63,
    64,
    65,
    4096,
    65536 - 17,
    MAX_PLAINTEXT,
  ];
  for (let i = 0; i < 40; i++) lengths.push(random.below(MAX_PLAINTEXT + 1));
  for (const [i, length] of lengths.entries()) {
    const rawKey = random.bytes(32);
    const counter = (BigInt(random.nextU32()) << 32n) |
      BigInt(random.nextU32());
    const nonce = noiseNonce(counter);
    const ad = random.bytes([0, 1, 32, random.below(200)][i % 4]!);
    const plaintext = random.bytes(length);
    const reference = chacha20poly1305(rawKey, nonce, ad).encrypt(plaintext);
    const key = importAeadKey(rawKey);
    const sealed = aeadSeal(key, nonce, ad, plaintext);
    assertStrictEquals(sealed.length, length + TAG_LENGTH);
    assertEquals(sealed, reference, `length ${length}, case ${i}`);
    assertEquals(aeadOpen(key, nonce, ad, reference), plaintext);
  }
});

Deno.test("aeadOpenInto() opens into the caller's buffer like @noble/ciphers, and refuses tampering", () => {
  // Under deno test this runs the update() path; cipher_into_test.ts
  // checks the direct one in a `deno run` process.
  const random = new SeededRandom(0x1a70);
  const out = new Uint8Array(MAX_PLAINTEXT + 40);
  for (const length of [0, 1, 17, 4096, 65000, MAX_PLAINTEXT]) {
    out.fill(0xee);
    const rawKey = random.bytes(32);
    const nonce = noiseNonce(BigInt(random.nextU32()));
    const ad = random.bytes(length % 3 === 0 ? 0 : 12);
    const plaintext = random.bytes(length);
    const sealed = chacha20poly1305(rawKey, nonce, ad).encrypt(plaintext);
    const key = importAeadKey(rawKey);
    const n = aeadOpenInto(key, nonce, ad, sealed, out, 7);
    assertStrictEquals(n, length);
    assertEquals(out.subarray(7, 7 + n), plaintext, `length ${length}`);
    assertStrictEquals(out[6], 0xee);
    const tampered = sealed.slice();
    tampered[length === 0 ? 0 : length - 1]! ^= 1;
    assertThrows(
      () => aeadOpenInto(key, nonce, ad, tampered, out, 0),
      DecryptError,
    );
  }
  const key = importAeadKey(random.bytes(32));
  const sealed = aeadSeal(key, noiseNonce(0n), new Uint8Array(0), out);
  assertThrows(
    () => aeadOpenInto(key, noiseNonce(0n), new Uint8Array(0), sealed, out, 1),
    RangeError,
  );
});

Deno.test("AeadSealStream seals pieces like @noble/ciphers seals their concatenation", () => {
  const random = new SeededRandom(0xc4a);
  for (let i = 0; i < 40; i++) {
    const rawKey = random.bytes(32);
    const nonce = noiseNonce(BigInt(random.nextU32()));
    const length = i < 4 ? [0, 1, 64, MAX_PLAINTEXT][i]! : random.below(
      MAX_PLAINTEXT + 1,
    );
    const plaintext = random.bytes(length);
    const reference = chacha20poly1305(rawKey, nonce).encrypt(plaintext);
    // Pieces of odd sizes, not aligned to ChaCha20 or Poly1305 blocks.
    const out = new Uint8Array(3 + length + TAG_LENGTH + 2).fill(0xaa);
    const stream = new AeadSealStream(importAeadKey(rawKey), nonce);
    let at = 3;
    for (let off = 0; off < length;) {
      const n = Math.min(length - off, 1 + random.below(i % 2 ? 70 : 20_000));
      assertStrictEquals(
        stream.update(plaintext.subarray(off, off + n), out, at),
        n,
      );
      at += n;
      off += n;
    }
    assertStrictEquals(stream.finish(out, at), TAG_LENGTH);
    assertEquals(out.subarray(3, 3 + length + TAG_LENGTH), reference);
    assertEquals(out.subarray(0, 3), new Uint8Array(3).fill(0xaa));
    assertEquals(
      out.subarray(out.length - 2),
      new Uint8Array(2).fill(0xaa),
    );
  }
});

Deno.test("AeadSealStream refuses pieces without room and use after finish()", () => {
  const stream = new AeadSealStream(
    importAeadKey(new Uint8Array(32)),
    noiseNonce(0n),
  );
  const out = new Uint8Array(20);
  assertThrows(() => stream.update(new Uint8Array(8), out, 13), RangeError);
  assertThrows(() => stream.finish(out, 5), RangeError);
  assertStrictEquals(stream.finish(out, 4), TAG_LENGTH);
  assertThrows(() => stream.update(new Uint8Array(1), out, 0), Error);
  assertThrows(() => stream.finish(out, 0), Error);
});

Deno.test("noiseNonce() is 4 zero bytes then the counter little-endian", () => {
  assertStrictEquals(toHex(noiseNonce(0n)), "000000000000000000000000");
  assertStrictEquals(toHex(noiseNonce(1n)), "000000000100000000000000");
  assertStrictEquals(
    toHex(noiseNonce(0x0102030405060708n)),
    "000000000807060504030201",
  );
  assertStrictEquals(
    toHex(noiseNonce((1n << 64n) - 1n)),
    "00000000ffffffffffffffff",
  );
  assertThrows(() => noiseNonce(1n << 64n), RangeError);
  assertThrows(() => noiseNonce(-1n), RangeError);
});

Deno.test("aeadOpen() throws DecryptError on any tampering", () => {
  const random = new SeededRandom(7);
  const rawKey = random.bytes(32);
  const key = importAeadKey(rawKey);
  const nonce = noiseNonce(5n);
  const ad = random.bytes(32);
  const plaintext = random.bytes(300);
  const sealed = aeadSeal(key, nonce, ad, plaintext);

  for (const index of [0, 150, 299, 300, 315]) {
    for (const bit of [0x01, 0x80]) {
      const copy = sealed.slice();
      copy[index]! ^= bit;
      assertThrows(() => aeadOpen(key, nonce, ad, copy), DecryptError);
    }
  }
  const otherAd = ad.slice();
  otherAd[0]! ^= 1;
  assertThrows(() => aeadOpen(key, nonce, otherAd, sealed), DecryptError);
  assertThrows(
    () => aeadOpen(key, nonce, new Uint8Array(0), sealed),
    DecryptError,
  );
  assertThrows(() => aeadOpen(key, noiseNonce(6n), ad, sealed), DecryptError);
  const otherKey = rawKey.slice();
  otherKey[31]! ^= 1;
  assertThrows(
    () => aeadOpen(importAeadKey(otherKey), nonce, ad, sealed),
    DecryptError,
  );
  assertThrows(
    () => aeadOpen(key, nonce, ad, sealed.subarray(0, sealed.length - 1)),
    DecryptError,
  );
  assertThrows(
    () => aeadOpen(key, nonce, ad, sealed.subarray(0, 15)),
    DecryptError,
  );
  assertThrows(() => aeadOpen(key, nonce, ad, new Uint8Array(0)), DecryptError);
  assertThrows(
    () => aeadOpen(key, nonce, ad, new Uint8Array(TAG_LENGTH)),
    DecryptError,
  );
});

Deno.test("aeadOpen() returns a plain, exactly sized Uint8Array", () => {
  const key = importAeadKey(new Uint8Array(32).fill(1));
  const nonce = noiseNonce(0n);
  for (const length of [0, 5, 65519]) {
    const opened = aeadOpen(
      key,
      nonce,
      new Uint8Array(0),
      aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array(length).fill(9)),
    );
    assertStrictEquals(opened.length, length);
    assertStrictEquals(opened.buffer.byteLength, length);
  }
});

Deno.test("importAeadKey() keeps its own copy of the key", () => {
  const raw = new Uint8Array(32).fill(3);
  const key = importAeadKey(raw);
  const nonce = noiseNonce(1n);
  const sealed = aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array(10));
  raw.fill(4);
  assertEquals(
    sealed,
    chacha20poly1305(new Uint8Array(32).fill(3), nonce).encrypt(
      new Uint8Array(10),
    ),
  );
  assertEquals(
    aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array(10)),
    sealed,
  );
});

Deno.test("importAeadKey() rejects keys that are not 32 bytes", () => {
  assertThrows(() => importAeadKey(new Uint8Array(31)), RangeError);
  assertThrows(() => importAeadKey(new Uint8Array(33)), RangeError);
});
