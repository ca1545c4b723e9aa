import { ed25519 } from "@noble/curves/ed25519.js";
import { assert, assertEquals } from "../assert.ts";
import {
  isValidSigningKey,
  sign,
  signingKeyPair,
  verifySignature,
} from "../../src/crypto/signature.ts";
import { fromHex, toHex } from "../../src/index/hash.ts";

/** RFC 8032 §7.1, tests 1-3: seed, public key, message, signature. */
const RFC8032 = [
  [
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  ],
  [
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  ],
  [
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    "af82",
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  ],
] as const;

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bigToLe(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

for (const [i, [seed, pub, msg, sig]] of RFC8032.entries()) {
  Deno.test(`signingKeyPair(), sign() and verifySignature() follow RFC 8032 test ${i + 1}`, () => {
    const pair = signingKeyPair(fromHex(seed));
    assertEquals(toHex(pair.publicKey), pub);
    const message = fromHex(msg);
    assertEquals(toHex(sign(pair.secretKey, message)), sig);
    assert(verifySignature(pair.publicKey, message, fromHex(sig)));
    // The independent reference agrees.
    assertEquals(toHex(ed25519.getPublicKey(fromHex(seed))), pub);
  });
}

Deno.test("signingKeyPair() without a seed gives fresh keys that sign and verify", () => {
  const a = signingKeyPair();
  const b = signingKeyPair();
  assert(toHex(a.publicKey) !== toHex(b.publicKey));
  assert(isValidSigningKey(a.publicKey));
  const message = new TextEncoder().encode("dsync");
  const signature = sign(a.secretKey, message);
  assert(verifySignature(a.publicKey, message, signature));
  assert(ed25519.verify(signature, message, a.publicKey));
  assert(!verifySignature(b.publicKey, message, signature));
});

Deno.test("verifySignature() refuses S not below the group order", () => {
  const [seed, , msg, sig] = RFC8032[0];
  const pair = signingKeyPair(fromHex(seed));
  const signature = fromHex(sig);
  const s = leToBig(signature.subarray(32));
  const forged = signature.slice();
  forged.set(bigToLe(s + L), 32);
  assert(s + L < 2n ** 256n);
  assert(!verifySignature(pair.publicKey, fromHex(msg), forged));
  const atOrder = signature.slice();
  atOrder.set(bigToLe(L), 32);
  assert(!verifySignature(pair.publicKey, fromHex(msg), atOrder));
});

Deno.test("verifySignature() refuses a non-canonical R or public key", () => {
  const [seed, , msg, sig] = RFC8032[1];
  const pair = signingKeyPair(fromHex(seed));
  // y = p + 1 encodes the same point as y = 1 (the identity) non-canonically.
  const p = 2n ** 255n - 19n;
  const nonCanonical = bigToLe(p + 1n);
  const badR = fromHex(sig);
  badR.set(nonCanonical, 0);
  assert(!verifySignature(pair.publicKey, fromHex(msg), badR));
  assert(!verifySignature(nonCanonical, fromHex(msg), fromHex(sig)));
  assert(!isValidSigningKey(nonCanonical));
});

Deno.test("verifySignature() refuses small-order public keys, with any signature", () => {
  // The identity, and the point of order 2 (y = -1).
  const keys = [bigToLe(1n), bigToLe(2n ** 255n - 20n)];
  const message = new TextEncoder().encode("anything");
  for (const key of keys) {
    assert(!isValidSigningKey(key), toHex(key));
    const forged = new Uint8Array(64);
    forged.set(bigToLe(1n), 0); // R = identity, S = 0: [0]B = R + [k]A
    assert(!verifySignature(key, message, forged), toHex(key));
  }
});
