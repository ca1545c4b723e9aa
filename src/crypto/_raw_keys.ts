/**
 * Raw 32-byte X25519 and Ed25519 keys as `node:crypto` key objects, and
 * back: the DER wrappings of RFC 8410 (PKCS #8 `PrivateKeyInfo` and
 * `SubjectPublicKeyInfo`), which differ between the two curves only in
 * the algorithm's object identifier.
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

/** The curves of RFC 8410 dsync uses, by the last byte of their OID (1.3.101.x). */
export type RawKeyCurve = "x25519" | "ed25519";

const OID_LAST: Readonly<Record<RawKeyCurve, number>> = {
  x25519: 0x6e, // 1.3.101.110
  ed25519: 0x70, // 1.3.101.112
};

/** PKCS #8 `PrivateKeyInfo` before the 32-byte private key or seed. */
function pkcs8Prefix(oid: number): number[] {
  return [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oid]
    .concat([0x04, 0x22, 0x04, 0x20]);
}

/** `SubjectPublicKeyInfo` before the 32-byte public key. */
function spkiPrefix(oid: number): number[] {
  return [
    0x30,
    0x2a,
    0x30,
    0x05,
    0x06,
    0x03,
    0x2b,
    0x65,
    oid,
    0x03,
    0x21,
    0x00,
  ];
}

const PREFIXES = Object.fromEntries(
  (Object.keys(OID_LAST) as RawKeyCurve[]).map((curve) => [curve, {
    pkcs8: Uint8Array.from(pkcs8Prefix(OID_LAST[curve])),
    spki: Uint8Array.from(spkiPrefix(OID_LAST[curve])),
  }]),
) as Record<RawKeyCurve, { pkcs8: Uint8Array; spki: Uint8Array }>;

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** The private key object of a raw 32-byte private key (X25519) or seed (Ed25519). */
export function privateKeyOf(curve: RawKeyCurve, key: Uint8Array): KeyObject {
  return createPrivateKey({
    key: der(PREFIXES[curve].pkcs8, key),
    format: "der",
    type: "pkcs8",
  });
}

/** The public key object of a raw 32-byte public key. */
export function publicKeyOf(curve: RawKeyCurve, key: Uint8Array): KeyObject {
  return createPublicKey({
    key: der(PREFIXES[curve].spki, key),
    format: "der",
    type: "spki",
  });
}

/** The raw 32-byte public key that belongs to a raw private key or seed. */
export function rawPublicKeyOf(
  curve: RawKeyCurve,
  key: Uint8Array,
): Uint8Array {
  const spki = createPublicKey(privateKeyOf(curve, key)).export({
    type: "spki",
    format: "der",
  });
  return new Uint8Array(spki.subarray(PREFIXES[curve].spki.length));
}
