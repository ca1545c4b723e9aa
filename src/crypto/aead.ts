/**
 * ChaCha20-Poly1305 (RFC 8439) over `node:crypto`, with the Noise nonce
 * layout: 4 zero bytes followed by the 64-bit counter, little-endian.
 */
import {
  type CipherChaCha20Poly1305,
  createCipheriv,
  createDecipheriv,
} from "node:crypto";
import { DecryptError } from "./errors.ts";
import { decryptInto, encryptInto } from "./_cipher_into.ts";

/** Key length in bytes. */
export const KEY_LENGTH = 32;
/** Authentication tag length in bytes. */
export const TAG_LENGTH = 16;
/** Nonce length in bytes (Noise: 4 zero bytes ‖ u64 little-endian counter). */
export const NONCE_LENGTH = 12;

const ALGORITHM = "chacha20-poly1305";
const OPTIONS = { authTagLength: TAG_LENGTH } as const;
const MAX_U64 = (1n << 64n) - 1n;

declare const aeadKeyBrand: unique symbol;

/**
 * A ChaCha20-Poly1305 key: a private copy of the 32 bytes. Raw bytes rather
 * than a `KeyObject`: `node:crypto` in Deno exports a `KeyObject` back to
 * bytes on every `createCipheriv()` (an extra op, ~3 µs per message).
 */
export type AeadKey = Uint8Array & { readonly [aeadKeyBrand]: true };

/** Imports a 32-byte key (copied: later changes to `key` do not affect it). */
export function importAeadKey(key: Uint8Array): AeadKey {
  if (key.length !== KEY_LENGTH) {
    throw new RangeError(
      `ChaCha20-Poly1305 key must be ${KEY_LENGTH} bytes, got ${key.length}`,
    );
  }
  return key.slice() as AeadKey;
}

/** Writes the Noise nonce for counter `n` into `out[0..12]`. */
export function writeNoiseNonce(out: Uint8Array, n: bigint): Uint8Array {
  if (n < 0n || n > MAX_U64) {
    throw new RangeError(`Nonce counter out of range: ${n}`);
  }
  out.fill(0, 0, 4);
  new DataView(out.buffer, out.byteOffset, NONCE_LENGTH).setBigUint64(
    4,
    n,
    true,
  );
  return out;
}

/** Returns a fresh 12-byte Noise nonce for counter `n`. */
export function noiseNonce(n: bigint): Uint8Array {
  return writeNoiseNonce(new Uint8Array(NONCE_LENGTH), n);
}

/** Encrypts `plaintext`; returns ciphertext ‖ 16-byte tag. */
export function aeadSeal(
  key: AeadKey,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  aeadSealInto(key, nonce, ad, plaintext, out, 0);
  return out;
}

/**
 * Encrypts `plaintext` into `out` at `offset` as ciphertext ‖ 16-byte tag,
 * saving a copy when the caller assembles frames in its own buffer.
 * @returns the number of bytes written, `plaintext.length + 16`.
 */
export function aeadSealInto(
  key: AeadKey,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  const length = plaintext.length + TAG_LENGTH;
  if (!Number.isInteger(offset) || offset < 0 || offset + length > out.length) {
    throw new RangeError(
      `Sealed message of ${length} bytes does not fit at offset ${offset} of ${out.length}`,
    );
  }
  const cipher = createCipheriv(ALGORITHM, key, nonce, OPTIONS);
  if (ad.length > 0) {
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
  }
  const end = offset + plaintext.length;
  if (!encryptInto(cipher, plaintext, out.subarray(offset, end))) {
    out.set(cipher.update(plaintext), offset);
  }
  cipher.final();
  out.set(cipher.getAuthTag(), end);
  return length;
}

/**
 * One message sealed from several plaintext pieces, each encrypted straight
 * into the caller's buffer: the pieces need not be copied together first.
 * The ciphertext ‖ tag equals `aeadSeal()` of the pieces' concatenation.
 */
export class AeadSealStream {
  readonly #cipher: CipherChaCha20Poly1305;
  #done = false;

  /** Starts a message under `key` and `nonce`, with empty associated data. */
  constructor(key: AeadKey, nonce: Uint8Array) {
    this.#cipher = createCipheriv(ALGORITHM, key, nonce, OPTIONS);
  }

  /**
   * Encrypts the next `piece` into `out` at `offset`.
   * @returns the number of bytes written, `piece.length`.
   */
  update(piece: Uint8Array, out: Uint8Array, offset: number): number {
    if (this.#done) throw new Error("AeadSealStream is already finished");
    checkRoom(piece.length, out, offset);
    const into = out.subarray(offset, offset + piece.length);
    if (!encryptInto(this.#cipher, piece, into)) {
      out.set(this.#cipher.update(piece), offset);
    }
    return piece.length;
  }

  /**
   * Ends the message and writes the 16-byte tag into `out` at `offset`.
   * @returns the number of bytes written, 16.
   */
  finish(out: Uint8Array, offset: number): number {
    if (this.#done) throw new Error("AeadSealStream is already finished");
    checkRoom(TAG_LENGTH, out, offset);
    this.#done = true;
    this.#cipher.final();
    out.set(this.#cipher.getAuthTag(), offset);
    return TAG_LENGTH;
  }
}

function checkRoom(length: number, out: Uint8Array, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > out.length) {
    throw new RangeError(
      `${length} bytes do not fit at offset ${offset} of ${out.length}`,
    );
  }
}

/**
 * Decrypts and authenticates ciphertext ‖ tag into `out` at `offset`
 * (a receiver's reused buffer: nothing is allocated per message where the
 * runtime allows). What `out` holds there is only valid when this returns;
 * after a failure it may hold unauthenticated bytes.
 * @returns the plaintext length, `ciphertext.length - 16`.
 * @throws {DecryptError} if the input is shorter than a tag or does not authenticate.
 * @throws {RangeError} if `out` has no room.
 */
export function aeadOpenInto(
  key: AeadKey,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  if (ciphertext.length < TAG_LENGTH) {
    throw new DecryptError(
      `Ciphertext of ${ciphertext.length} bytes is shorter than the ${TAG_LENGTH}-byte tag`,
    );
  }
  const bodyLength = ciphertext.length - TAG_LENGTH;
  checkRoom(bodyLength, out, offset);
  const into = out.subarray(offset, offset + bodyLength);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, OPTIONS);
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (ad.length > 0) {
      decipher.setAAD(ad, { plaintextLength: bodyLength });
    }
    const body = ciphertext.subarray(0, bodyLength);
    if (!decryptInto(decipher, body, into)) into.set(decipher.update(body));
    decipher.final();
  } catch (cause) {
    throw new DecryptError(
      `Message of ${ciphertext.length} bytes failed authentication`,
      { cause },
    );
  }
  return bodyLength;
}

/**
 * Decrypts and authenticates ciphertext ‖ tag.
 * @throws {DecryptError} if the input is shorter than a tag or does not authenticate.
 */
export function aeadOpen(
  key: AeadKey,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(Math.max(0, ciphertext.length - TAG_LENGTH));
  aeadOpenInto(key, nonce, ad, ciphertext, out, 0);
  return out;
}
