import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { keyPairFromPrivate } from "../../src/crypto/dh.ts";
import { fromHex, toHex } from "../crypto/_hex.ts";
import {
  fingerprint,
  Identity,
  parsePeerIdHex,
  peerIdHex,
  samePeerId,
  verifySignature,
} from "../../src/identity/mod.ts";

// RFC 8032 §7.1 TEST 1 (empty message).
const RFC8032_SEED =
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC =
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_SIGNATURE =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" +
  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

Deno.test("Identity.generate() creates distinct Ed25519 and X25519 key pairs", () => {
  const a = Identity.generate();
  const b = Identity.generate();
  assertStrictEquals(a.publicKey.length, 32);
  assertStrictEquals(a.noiseStatic.publicKey.length, 32);
  assertStrictEquals(a.noiseStatic.privateKey.length, 32);
  assertNotEquals(a.publicKey, b.publicKey);
  assertNotEquals(a.noiseStatic.publicKey, b.noiseStatic.publicKey);
  assertNotEquals(a.publicKey, a.noiseStatic.publicKey);
});

Deno.test("Identity.sign() follows RFC 8032 (test 1)", () => {
  const identity = Identity.fromKeys(
    fromHex(RFC8032_SEED),
    keyPairFromPrivate(new Uint8Array(32).fill(1)),
  );
  assertStrictEquals(peerIdHex(identity.publicKey), RFC8032_PUBLIC);
  assertStrictEquals(
    toHex(identity.sign(new Uint8Array(0))),
    RFC8032_SIGNATURE,
  );
});

Deno.test("verifySignature() accepts good signatures and rejects everything else", () => {
  const identity = Identity.generate();
  const message = new TextEncoder().encode("hello");
  const signature = identity.sign(message);
  assert(verifySignature(identity.publicKey, message, signature));
  const badSig = signature.slice();
  badSig[5]! ^= 1;
  assert(!verifySignature(identity.publicKey, message, badSig));
  assert(
    !verifySignature(
      identity.publicKey,
      new TextEncoder().encode("hellp"),
      signature,
    ),
  );
  assert(
    !verifySignature(Identity.generate().publicKey, message, signature),
  );
  assert(
    !verifySignature(identity.publicKey, message, signature.subarray(1)),
  );
  assert(
    !verifySignature(identity.publicKey.subarray(1), message, signature),
  );
  assert(!verifySignature(new Uint8Array(32), message, signature));
  // A small-order key (the identity point) with a forged "signature" is refused.
  const identityPoint = new Uint8Array(32);
  identityPoint[0] = 1;
  const forged = new Uint8Array(64);
  forged[0] = 1;
  assert(!verifySignature(identityPoint, message, forged));
});

Deno.test("peerIdHex() and parsePeerIdHex() round-trip", () => {
  const id = Identity.generate().publicKey;
  const text = peerIdHex(id);
  assertMatch(text, /^[0-9a-f]{64}$/);
  assertEquals(parsePeerIdHex(text), id);
  assertEquals(parsePeerIdHex(text.toUpperCase()), id);
  assertThrows(() => peerIdHex(new Uint8Array(31)), RangeError);
});

Deno.test("parsePeerIdHex() rejects malformed or invalid ids with SyntaxError", () => {
  const good = peerIdHex(Identity.generate().publicKey);
  for (
    const bad of [
      "",
      good.slice(1),
      good + "0",
      good.slice(0, 63) + "g",
      ` ${good.slice(1)}`,
      "0x" + good.slice(2),
      "00".repeat(32), // not a valid point... or small order
      "01" + "00".repeat(31), // identity point: small order
      "ff".repeat(32), // non-canonical
      "x".repeat(10_000),
    ]
  ) {
    assertThrows(
      () => parsePeerIdHex(bad),
      SyntaxError,
      undefined,
      bad.slice(0, 70),
    );
  }
});

Deno.test("fingerprint() is three groups of four base32 characters from SHA-256", () => {
  const id = fromHex(RFC8032_PUBLIC);
  const print = fingerprint(id);
  assertMatch(print, /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
  assertStrictEquals(fingerprint(id), print);
  assertNotStrictEquals(fingerprint(Identity.generate().publicKey), print);
});

Deno.test("fingerprint() encodes the first 60 bits of SHA-256(peer id)", async () => {
  const id = Identity.generate().publicKey;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", id.slice()),
  );
  let bits = "";
  for (const byte of digest.subarray(0, 8)) {
    bits += byte.toString(2).padStart(8, "0");
  }
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let chars = "";
  for (let i = 0; i < 12; i++) {
    chars += alphabet[parseInt(bits.slice(5 * i, 5 * i + 5), 2)];
  }
  assertStrictEquals(
    fingerprint(id),
    `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`,
  );
});

Deno.test("Identity never shows secret keys when printed", () => {
  const identity = Identity.generate();
  const shown = Deno.inspect(identity) + String(identity) +
    JSON.stringify(identity);
  assert(shown.includes(fingerprint(identity.publicKey)));
  const secretHex = toHex(identity.noiseStatic.privateKey);
  assert(!shown.includes(secretHex));
  assertEquals(JSON.parse(JSON.stringify(identity)), {
    peerId: peerIdHex(identity.publicKey),
    fingerprint: fingerprint(identity.publicKey),
  });
});

Deno.test("samePeerId() compares bytes", () => {
  const a = Identity.generate().publicKey;
  assert(samePeerId(a, a.slice()));
  assert(!samePeerId(a, Identity.generate().publicKey));
  assert(!samePeerId(a, a.subarray(1)));
});

Deno.test("fingerprint() matches the example in docs/PROTOCOL.md", () => {
  const id = parsePeerIdHex(
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
  );
  assertStrictEquals(fingerprint(id), "KZDV-VJ2U-MNDU");
});
