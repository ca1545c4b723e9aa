/**
 * Ed25519 signatures (RFC 8032) over `@noble/curves`, verified strictly:
 * canonical encodings only, small-order public keys refused.
 */
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

/** A fresh Ed25519 key pair, or the one for a given 32-byte seed. */
export function signingKeyPair(seed?: Uint8Array): SigningKeyPair {
  if (seed !== undefined && seed.length !== SIGNING_KEY_LENGTH) {
    throw new RangeError(
      `Ed25519 seed must be ${SIGNING_KEY_LENGTH} bytes, got ${seed.length}`,
    );
  }
  const secretKey = seed?.slice() ?? ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(secretKey), secretKey };
}

/** Signs `message` with a 32-byte Ed25519 seed. */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/** Verifies an Ed25519 signature. Never throws: malformed input gives false. */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    publicKey.length !== SIGNING_KEY_LENGTH ||
    signature.length !== SIGNATURE_LENGTH
  ) {
    return false;
  }
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
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
