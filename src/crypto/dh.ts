/**
 * X25519 (RFC 7748) key pairs and Diffie-Hellman for Noise, with low-order
 * public keys rejected.
 *
 * Through `node:crypto` (native): `@noble/curves` derived a public key
 * from the Edwards base-point tables, built at the first key of every
 * start (~100 ms of the start-up thread here, under load) against ~1 ms.
 * A low-order public key is refused by its all-zero shared secret: the
 * clamped scalar is a multiple of the cofactor 8, so every point of order
 * dividing 8, and only those, gives zero (RFC 7748 §6.1).
 */
import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from "node:crypto";
import { LowOrderPointError } from "./errors.ts";

/** X25519 public and private key length in bytes. */
export const DH_LENGTH = 32;

/** An X25519 key pair. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Generates a fresh X25519 key pair from the system CSPRNG. */
export function generateKeyPair(): KeyPair {
  return keyPairFromPrivate(crypto.getRandomValues(new Uint8Array(DH_LENGTH)));
}

/** Derives the key pair for a given 32-byte private key (used by test vectors). */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  if (privateKey.length !== DH_LENGTH) {
    throw new RangeError(
      `X25519 private key must be ${DH_LENGTH} bytes, got ${privateKey.length}`,
    );
  }
  const copy = privateKey.slice();
  const spki = createPublicKey(privateKeyOf(copy)).export({
    type: "spki",
    format: "der",
  });
  return {
    publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
    privateKey: copy,
  };
}

/** DER of PKCS #8 `PrivateKeyInfo` for X25519 (RFC 8410), before the key. */
const PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);
/** DER of `SubjectPublicKeyInfo` for X25519 (RFC 8410), before the key. */
const SPKI_PREFIX = Uint8Array.from([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x03,
  0x21,
  0x00,
]);

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

function privateKeyOf(key: Uint8Array): KeyObject {
  return createPrivateKey({
    key: der(PKCS8_PREFIX, key),
    format: "der",
    type: "pkcs8",
  });
}

/**
 * Computes DH(privateKey, publicKey).
 * @throws {LowOrderPointError} if `publicKey` has low order, so the output would be all zeros.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (privateKey.length !== DH_LENGTH) {
    throw new RangeError(
      `X25519 private key must be ${DH_LENGTH} bytes, got ${privateKey.length}`,
    );
  }
  if (publicKey.length !== DH_LENGTH) {
    throw new RangeError(
      `X25519 public key must be ${DH_LENGTH} bytes, got ${publicKey.length}`,
    );
  }
  let shared: Uint8Array;
  try {
    // The native derivation fails on an all-zero result (a low-order key).
    shared = new Uint8Array(diffieHellman({
      privateKey: privateKeyOf(privateKey),
      publicKey: createPublicKey({
        key: der(SPKI_PREFIX, publicKey),
        format: "der",
        type: "spki",
      }),
    }));
  } catch (cause) {
    throw new LowOrderPointError(
      `X25519 public key ${hex(publicKey)} has low order`,
      { cause },
    );
  }
  if (isAllZero(shared)) {
    throw new LowOrderPointError(
      `X25519 public key ${hex(publicKey)} gives an all-zero shared secret`,
    );
  }
  return shared;
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
