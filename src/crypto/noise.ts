/**
 * The Noise Protocol Framework (revision 34) state machine, for the one
 * protocol dsync speaks: `Noise_XX_25519_ChaChaPoly_SHA256`.
 *
 *     XX:
 *       -> e
 *       <- e, ee, s, es
 *       -> s, se
 */
import { createHash, createHmac } from "node:crypto";
import {
  type AeadKey,
  aeadOpen,
  aeadSeal,
  importAeadKey,
  KEY_LENGTH,
  noiseNonce,
  TAG_LENGTH,
} from "./aead.ts";
import { dh, DH_LENGTH, generateKeyPair, type KeyPair } from "./dh.ts";
import { HandshakeError, NonceExhaustedError } from "./errors.ts";

/** The full Noise protocol name; exactly 32 bytes, so it is also the initial `h`. */
export const PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_SHA256";
/** SHA-256 output length. */
export const HASH_LENGTH = 32;
/** Largest Noise message, handshake or transport (Noise §3). */
export const MAX_NOISE_MESSAGE = 65535;

const MAX_NONCE = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);
const ZEROS32 = new Uint8Array(32);

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** Noise §4.3 HKDF with two outputs (RFC 5869 with salt = ck, empty info). */
export function hkdf2(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
): [Uint8Array, Uint8Array] {
  const tempKey = hmacSha256(chainingKey, inputKeyMaterial);
  const out1 = hmacSha256(tempKey, Uint8Array.of(1));
  const out2 = hmacSha256(tempKey, out1, Uint8Array.of(2));
  return [out1, out2];
}

/** Noise §11.3 REKEY: the first 32 bytes of ENCRYPT(k, 2^64-1, empty ad, 32 zero bytes). */
export function rekeyKey(key: Uint8Array): Uint8Array {
  const sealed = aeadSeal(
    importAeadKey(key),
    noiseNonce(MAX_NONCE),
    EMPTY,
    ZEROS32,
  );
  return sealed.slice(0, KEY_LENGTH);
}

/** Noise §5.1 CipherState: a key (maybe empty) and a 64-bit nonce counter. */
export class CipherState {
  #key: Uint8Array | undefined;
  #aeadKey: AeadKey | undefined;
  #nonce = 0n;

  /** Sets the key (or clears it) and resets the nonce to 0. */
  initializeKey(key: Uint8Array | undefined): void {
    if (key !== undefined && key.length !== KEY_LENGTH) {
      throw new RangeError(
        `Cipher key must be ${KEY_LENGTH} bytes, got ${key.length}`,
      );
    }
    this.#key = key?.slice();
    this.#aeadKey = key === undefined ? undefined : importAeadKey(key);
    this.#nonce = 0n;
  }

  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /** The raw key, if any (copied), e.g. to build a transport cipher. */
  get key(): Uint8Array | undefined {
    return this.#key?.slice();
  }

  get nonce(): bigint {
    return this.#nonce;
  }

  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw new RangeError(`Nonce out of range: ${nonce}`);
    }
    this.#nonce = nonce;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#aeadKey === undefined) return plaintext.slice();
    const nonce = this.#takeNonce();
    return aeadSeal(this.#aeadKey, noiseNonce(nonce), ad, plaintext);
  }

  /** @throws {DecryptError} on authentication failure; the nonce is not advanced then. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#aeadKey === undefined) return ciphertext.slice();
    if (this.#nonce === MAX_NONCE) throw exhausted();
    const plaintext = aeadOpen(
      this.#aeadKey,
      noiseNonce(this.#nonce),
      ad,
      ciphertext,
    );
    this.#nonce++;
    return plaintext;
  }

  rekey(): void {
    if (this.#key === undefined) throw new Error("Cannot rekey without a key");
    const nonce = this.#nonce;
    this.initializeKey(rekeyKey(this.#key));
    this.#nonce = nonce;
  }

  #takeNonce(): bigint {
    if (this.#nonce === MAX_NONCE) throw exhausted();
    return this.#nonce++;
  }
}

function exhausted(): NonceExhaustedError {
  return new NonceExhaustedError("Nonce counter reached 2^64-1");
}

/** Noise §5.2 SymmetricState: chaining key, handshake hash and a CipherState. */
export class SymmetricState {
  readonly cipher = new CipherState();
  #ck: Uint8Array;
  #h: Uint8Array;

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    this.#h = name.length <= HASH_LENGTH
      ? Uint8Array.from({ length: HASH_LENGTH }, (_, i) => name[i] ?? 0)
      : sha256(name);
    this.#ck = this.#h.slice();
  }

  /** The current handshake hash `h` (copied). */
  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempKey] = hkdf2(this.#ck, inputKeyMaterial);
    this.#ck = ck;
    this.cipher.initializeKey(tempKey.subarray(0, KEY_LENGTH));
  }

  mixHash(data: Uint8Array): void {
    this.#h = sha256(this.#h, data);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Returns the two transport keys: initiator→responder, responder→initiator. */
  split(): [Uint8Array, Uint8Array] {
    const [k1, k2] = hkdf2(this.#ck, EMPTY);
    return [k1.subarray(0, KEY_LENGTH), k2.subarray(0, KEY_LENGTH)];
  }
}

type Token = "e" | "s" | "ee" | "es" | "se" | "ss";

const XX_PATTERN: readonly (readonly Token[])[] = [
  ["e"],
  ["e", "ee", "s", "es"],
  ["s", "se"],
];

/** Options for {@link HandshakeState}. */
export interface HandshakeStateOptions {
  initiator: boolean;
  prologue: Uint8Array;
  /** Local static key pair. */
  staticKeyPair: KeyPair;
  /** Local ephemeral key pair; generated when absent (set it only for test vectors). */
  ephemeralKeyPair?: KeyPair;
}

/** Keys from {@link HandshakeState.split}, seen from the local side. */
export interface SplitKeys {
  /** Key for messages this side sends. */
  send: Uint8Array;
  /** Key for messages this side receives. */
  receive: Uint8Array;
}

/**
 * Noise §5.3 HandshakeState for the XX pattern. Single use: after any thrown
 * error the state is unusable and the connection must be dropped.
 */
export class HandshakeState {
  readonly initiator: boolean;
  readonly #symmetric = new SymmetricState(PROTOCOL_NAME);
  readonly #s: KeyPair;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #messageIndex = 0;
  #payloadHash: Uint8Array | undefined;
  #failed = false;

  constructor(options: HandshakeStateOptions) {
    this.initiator = options.initiator;
    this.#s = options.staticKeyPair;
    this.#e = options.ephemeralKeyPair;
    this.#symmetric.mixHash(options.prologue);
  }

  /** True once all three messages have been written or read. */
  get isComplete(): boolean {
    return this.#messageIndex === XX_PATTERN.length;
  }

  /** True when the next message is ours to write. */
  get isMyTurn(): boolean {
    return (this.#messageIndex % 2 === 0) === this.initiator;
  }

  /** The current handshake hash `h`. */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.handshakeHash;
  }

  /**
   * `h` as it was when the payload of the last written or read message was
   * encrypted or decrypted: the associated data of that payload.
   */
  get payloadHash(): Uint8Array | undefined {
    return this.#payloadHash?.slice();
  }

  /** The peer's static public key, once received. */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.#rs?.slice();
  }

  /** The peer's ephemeral public key, once received. */
  get remoteEphemeralKey(): Uint8Array | undefined {
    return this.#re?.slice();
  }

  /**
   * Writes the next handshake message. `payload` may be a function of the
   * handshake hash at the point the payload is encrypted.
   */
  writeMessage(
    payload: Uint8Array | ((payloadHash: Uint8Array) => Uint8Array),
  ): Uint8Array {
    const tokens = this.#nextTokens(true);
    this.#failed = true;
    const parts: Uint8Array[] = [];
    for (const token of tokens) {
      switch (token) {
        case "e": {
          this.#e ??= generateKeyPair();
          parts.push(this.#e.publicKey.slice());
          this.#symmetric.mixHash(this.#e.publicKey);
          break;
        }
        case "s":
          parts.push(this.#symmetric.encryptAndHash(this.#s.publicKey));
          break;
        default:
          this.#mixDh(token);
      }
    }
    this.#payloadHash = this.#symmetric.handshakeHash;
    const body = typeof payload === "function"
      ? payload(this.#payloadHash.slice())
      : payload;
    parts.push(this.#symmetric.encryptAndHash(body));
    const message = concat(parts);
    if (message.length > MAX_NOISE_MESSAGE) {
      throw new RangeError(
        `Handshake message of ${message.length} bytes exceeds ${MAX_NOISE_MESSAGE}`,
      );
    }
    this.#messageIndex++;
    this.#failed = false;
    return message;
  }

  /**
   * Reads the next handshake message and returns its decrypted payload.
   * @throws {HandshakeError} if the message is too short or too long.
   * @throws {DecryptError} if an encrypted field fails authentication.
   * @throws {LowOrderPointError} if a received key has low order.
   */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#nextTokens(false);
    this.#failed = true;
    if (message.length > MAX_NOISE_MESSAGE) {
      throw new HandshakeError(
        `Handshake message of ${message.length} bytes exceeds ${MAX_NOISE_MESSAGE}`,
      );
    }
    let offset = 0;
    const take = (length: number, what: string): Uint8Array => {
      if (message.length - offset < length) {
        throw new HandshakeError(
          `Handshake message ${
            this.#messageIndex + 1
          } of ${message.length} bytes is too short for ${what}`,
        );
      }
      const field = message.subarray(offset, offset + length);
      offset += length;
      return field;
    };
    for (const token of tokens) {
      switch (token) {
        case "e": {
          this.#re = take(DH_LENGTH, "the ephemeral key").slice();
          this.#symmetric.mixHash(this.#re);
          break;
        }
        case "s": {
          const length = DH_LENGTH +
            (this.#symmetric.cipher.hasKey() ? TAG_LENGTH : 0);
          this.#rs = this.#symmetric.decryptAndHash(
            take(length, "the static key"),
          );
          break;
        }
        default:
          this.#mixDh(token);
      }
    }
    const rest = message.subarray(offset);
    if (this.#symmetric.cipher.hasKey() && rest.length < TAG_LENGTH) {
      throw new HandshakeError(
        `Handshake message ${
          this.#messageIndex + 1
        } of ${message.length} bytes is too short for the payload tag`,
      );
    }
    this.#payloadHash = this.#symmetric.handshakeHash;
    const payload = this.#symmetric.decryptAndHash(rest);
    this.#messageIndex++;
    this.#failed = false;
    return payload;
  }

  /** Derives the transport keys; only after the last message. */
  split(): SplitKeys {
    if (!this.isComplete || this.#failed) {
      throw new Error("Cannot split before the handshake is complete");
    }
    const [k1, k2] = this.#symmetric.split();
    return this.initiator
      ? { send: k1, receive: k2 }
      : { send: k2, receive: k1 };
  }

  #nextTokens(writing: boolean): readonly Token[] {
    if (this.#failed) {
      throw new Error("Handshake state is unusable after an error");
    }
    const tokens = XX_PATTERN[this.#messageIndex];
    if (tokens === undefined) throw new Error("Handshake is already complete");
    if (this.isMyTurn !== writing) {
      throw new Error(
        `Cannot ${writing ? "write" : "read"} handshake message ${
          this.#messageIndex + 1
        } as ${this.initiator ? "initiator" : "responder"}`,
      );
    }
    return tokens;
  }

  #mixDh(token: Token): void {
    // Noise §5.3: the first letter names the initiator's key, the second the responder's.
    const [first, second] = token as "ee" | "es" | "se" | "ss";
    const localLetter = this.initiator ? first : second;
    const remoteLetter = this.initiator ? second : first;
    const local = localLetter === "e" ? this.#e : this.#s;
    const remote = remoteLetter === "e" ? this.#re : this.#rs;
    if (local === undefined || remote === undefined) {
      throw new Error(`Missing key for token ${token}`);
    }
    this.#symmetric.mixKey(dh(local.privateKey, remote));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
