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
import { diffieHellman } from "node:crypto";
import { privateKeyOf, publicKeyOf, rawPublicKeyOf } from "./_raw_keys.ts";
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
  return {
    publicKey: rawPublicKeyOf("x25519", copy),
    privateKey: copy,
  };
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
      privateKey: privateKeyOf("x25519", privateKey),
      publicKey: publicKeyOf("x25519", publicKey),
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
