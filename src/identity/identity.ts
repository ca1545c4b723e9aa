/**
 * The ephemeral identity of one dsync run: an Ed25519 key pair (the peer id)
 * and an X25519 key pair (the Noise static key), both in memory only, with
 * what the handshake proves alongside them: the stable device key's
 * endorsement and the group membership.
 */
import { createHash } from "node:crypto";
import {
  generateKeyPair,
  type HandshakeDevice,
  type HandshakeMembership,
  isValidSigningKey,
  type KeyPair,
  sign,
  SIGNING_KEY_LENGTH,
  signingKeyPair,
  verifySignature,
} from "../crypto/mod.ts";

export { verifySignature };

/** Peer id length in bytes (an Ed25519 public key). */
export const PEER_ID_LENGTH = SIGNING_KEY_LENGTH;

/** What a session identity carries besides its keys. */
export interface IdentityOptions {
  /** The device key that endorses the session key. */
  readonly device?: HandshakeDevice | undefined;
  /** The group proved in handshakes. */
  readonly membership?: HandshakeMembership | undefined;
}

/** This process's identity; create one per start with {@link Identity.generate}. */
export class Identity {
  /** Ed25519 public key: the peer id. */
  readonly publicKey: Uint8Array;
  /** X25519 key pair used as the Noise static key. */
  readonly noiseStatic: KeyPair;
  /** The stable device key that endorses this session (none: the session stands alone). */
  readonly device: HandshakeDevice | undefined;
  /** The group this identity proves in handshakes (none: the open pseudo-group). */
  readonly membership: HandshakeMembership | undefined;
  readonly #secretKey: Uint8Array;

  private constructor(
    ed25519Seed: Uint8Array | undefined,
    noiseStatic: KeyPair,
    options: IdentityOptions,
  ) {
    const pair = signingKeyPair(ed25519Seed);
    this.#secretKey = pair.secretKey;
    this.publicKey = pair.publicKey;
    this.noiseStatic = noiseStatic;
    this.device = options.device;
    this.membership = options.membership;
  }

  /** A fresh identity from the system CSPRNG. */
  static generate(options: IdentityOptions = {}): Identity {
    return new Identity(undefined, generateKeyPair(), options);
  }

  /** An identity from a known Ed25519 seed and Noise key pair (tests only). */
  static fromKeys(
    ed25519Seed: Uint8Array,
    noiseStatic: KeyPair,
    options: IdentityOptions = {},
  ): Identity {
    return new Identity(ed25519Seed, noiseStatic, options);
  }

  /** Signs `message` with the Ed25519 key (RFC 8032, pure Ed25519). */
  sign(message: Uint8Array): Uint8Array {
    return sign(this.#secretKey, message);
  }

  /** Short form for logs; never shows secret keys. */
  toString(): string {
    return `Identity(${fingerprint(this.publicKey)})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** JSON form for logs: public values only. */
  toJSON(): { peerId: string; fingerprint: string } {
    return {
      peerId: peerIdHex(this.publicKey),
      fingerprint: fingerprint(this.publicKey),
    };
  }
}

/** The peer id as 64 lowercase hex characters (wire and mDNS TXT form). */
export function peerIdHex(publicKey: Uint8Array): string {
  if (publicKey.length !== PEER_ID_LENGTH) {
    throw new RangeError(
      `Peer id must be ${PEER_ID_LENGTH} bytes, got ${publicKey.length}`,
    );
  }
  let out = "";
  for (const byte of publicKey) out += byte.toString(16).padStart(2, "0");
  return out;
}

const HEX_ID = /^[0-9a-fA-F]{64}$/;

/**
 * Parses a peer id from 64 hex characters (either case) and checks that it is
 * a valid Ed25519 public key.
 * @throws {SyntaxError} if it is not.
 */
export function parsePeerIdHex(text: string): Uint8Array {
  if (!HEX_ID.test(text)) {
    throw new SyntaxError(
      `Cannot parse peer id "${truncate(text)}": expected 64 hex characters`,
    );
  }
  const bytes = new Uint8Array(PEER_ID_LENGTH);
  for (let i = 0; i < PEER_ID_LENGTH; i++) {
    bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  if (!isValidSigningKey(bytes)) {
    throw new SyntaxError(
      `Cannot parse peer id "${text}": not a valid Ed25519 public key`,
    );
  }
  return bytes;
}

/** True if both peer ids are the same bytes. */
export function samePeerId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * A short fingerprint for humans: the first 60 bits of SHA-256(peer id) in
 * RFC 4648 base32, as three groups of four characters, e.g. `KZDV-VJ2U-MNDU`.
 * For display only; peers are identified by the full key.
 */
export function fingerprint(publicKey: Uint8Array): string {
  const digest = createHash("sha256").update(publicKey).digest();
  let bits = 0n;
  for (let i = 0; i < 8; i++) bits = (bits << 8n) | BigInt(digest[i] ?? 0);
  let chars = "";
  for (let i = 1; i <= 12; i++) {
    chars += BASE32[Number((bits >> BigInt(64 - 5 * i)) & 31n)];
  }
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
