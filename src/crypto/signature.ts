/**
 * Ed25519 signatures (RFC 8032), verified strictly: canonical encodings
 * only, small-order public keys refused.
 *
 * Keys, signing and the verification equation are `node:crypto`'s (native):
 * `@noble/curves` built its base-point tables at the first key (42-188 ms
 * here, in the start-up of every node, before its first scan) and again at
 * the first verification (~20 ms), against 1.5-3 ms natively. What native
 * verification does not promise is checked first with `@noble/curves`,
 * which needs no tables for it: S below the group order L, R and A
 * canonical point encodings, A of large order.
 */
import { sign as nativeSign, verify as nativeVerify } from "node:crypto";
import { privateKeyOf, publicKeyOf, rawPublicKeyOf } from "./_raw_keys.ts";
import { ed25519 } from "@noble/curves/ed25519.js";

/** Ed25519 public key and seed length in bytes. */
export const SIGNING_KEY_LENGTH = 32;
/** Ed25519 signature length in bytes. */
export const SIGNATURE_LENGTH = 64;

/** An Ed25519 key pair; `secretKey` is the 32-byte seed. */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** The group order L, little-endian (RFC 8032 §5.1). */
const ORDER_LE = (() => {
  const out = new Uint8Array(32);
  let l = 2n ** 252n + 27742317777372353535851937790883648493n;
  for (let i = 0; i < 32; i++, l >>= 8n) out[i] = Number(l & 0xffn);
  return out;
})();

/** A fresh Ed25519 key pair, or the one for a given 32-byte seed. */
export function signingKeyPair(seed?: Uint8Array): SigningKeyPair {
  if (seed !== undefined && seed.length !== SIGNING_KEY_LENGTH) {
    throw new RangeError(
      `Ed25519 seed must be ${SIGNING_KEY_LENGTH} bytes, got ${seed.length}`,
    );
  }
  const secretKey = seed?.slice() ??
    crypto.getRandomValues(new Uint8Array(SIGNING_KEY_LENGTH));
  return { publicKey: rawPublicKeyOf("ed25519", secretKey), secretKey };
}

/** Signs `message` with a 32-byte Ed25519 seed. */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== SIGNING_KEY_LENGTH) {
    throw new RangeError(
      `Ed25519 seed must be ${SIGNING_KEY_LENGTH} bytes, got ${secretKey.length}`,
    );
  }
  return new Uint8Array(
    nativeSign(null, message, privateKeyOf("ed25519", secretKey)),
  );
}

/** Whether the little-endian scalar `s` is below the group order. */
function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! !== ORDER_LE[i]!) return s[i]! < ORDER_LE[i]!;
  }
  return false; // equal to L
}

/** Whether `bytes` is the canonical encoding of a point on the curve. */
function isCanonicalPoint(bytes: Uint8Array): boolean {
  try {
    ed25519.Point.fromBytes(bytes, false);
    return true;
  } catch {
    return false;
  }
}

/** Verifies an Ed25519 signature. Never throws: malformed input gives false. */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    publicKey.length !== SIGNING_KEY_LENGTH ||
    signature.length !== SIGNATURE_LENGTH ||
    !isCanonicalScalar(signature.subarray(32)) ||
    !isValidSigningKey(publicKey) ||
    !isCanonicalPoint(signature.subarray(0, 32))
  ) {
    return false;
  }
  try {
    return nativeVerify(
      null,
      message,
      publicKeyOf("ed25519", publicKey),
      signature,
    );
  } catch {
    return false;
  }
}

/** True if `publicKey` is a canonical Ed25519 point of large order. */
export function isValidSigningKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== SIGNING_KEY_LENGTH) return false;
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}
