/**
 * The dsync handshake: Noise XX with prologue `dsync/1`, each message behind a
 * 2-byte big-endian length, and an Ed25519 identity proof in messages 2 and 3
 * (see docs/PROTOCOL.md, "Handshake").
 */
import { getLogger } from "@logtape/logtape";
import { TAG_LENGTH } from "./aead.ts";
import type { KeyPair } from "./dh.ts";
import {
  BadSignatureError,
  DecryptError,
  HandshakeError,
  IdentityMismatchError,
} from "./errors.ts";
import { HandshakeState } from "./noise.ts";
import {
  SIGNATURE_LENGTH,
  SIGNING_KEY_LENGTH,
  verifySignature,
} from "./signature.ts";
import { TransportCipher } from "./transport_cipher.ts";

const log = getLogger(["dsync", "crypto"]);

/** Noise prologue: the ASCII bytes `dsync/1`. */
export const PROLOGUE: Uint8Array = new TextEncoder().encode("dsync/1");
/** Signed prefix before the handshake hash: the ASCII bytes `dsync/1 identity`. */
export const SIGNATURE_CONTEXT: Uint8Array = new TextEncoder().encode(
  "dsync/1 identity",
);
/** Identity payload version byte. */
export const PAYLOAD_VERSION = 1;
/** Identity payload: version ‖ Ed25519 public key ‖ signature. */
export const PAYLOAD_LENGTH = 1 + SIGNING_KEY_LENGTH + SIGNATURE_LENGTH;

const KEY = 32;
/** Exact length of each handshake message (without its 2-byte prefix). */
export const MESSAGE_LENGTHS: readonly [number, number, number] = [
  KEY, // e, empty payload
  KEY + (KEY + TAG_LENGTH) + (PAYLOAD_LENGTH + TAG_LENGTH), // e, enc(s), enc(payload)
  (KEY + TAG_LENGTH) + (PAYLOAD_LENGTH + TAG_LENGTH), // enc(s), enc(payload)
];

/** The byte stream a handshake runs over. */
export interface HandshakeIO {
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves with exactly `n` bytes, or rejects if the stream ends first. */
  readExact(n: number): Promise<Uint8Array>;
}

/** What the handshake needs of the local identity (an `Identity` fits). */
export interface HandshakeIdentity {
  readonly publicKey: Uint8Array;
  readonly noiseStatic: KeyPair;
  sign(message: Uint8Array): Uint8Array;
}

/** Options for {@link secureHandshake}. */
export interface HandshakeOptions {
  role: "initiator" | "responder";
  identity: HandshakeIdentity;
  /** The peer id the peer must prove (e.g. from discovery). */
  expectedPeerId?: Uint8Array | undefined;
  /** Aborting rejects the handshake with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Test only: a fixed Noise ephemeral key pair. */
  ephemeralKeyPair?: KeyPair | undefined;
}

/** An authenticated, encrypted session. */
export interface SecureSession {
  /** The peer's Ed25519 public key (32 bytes), proven in the handshake. */
  peerId: Uint8Array;
  /** Seals messages to the peer. */
  sender: TransportCipher;
  /** Opens messages from the peer. */
  receiver: TransportCipher;
  /** The final Noise handshake hash, the same on both ends. */
  handshakeHash: Uint8Array;
}

/**
 * Runs the handshake over `io` and returns the session.
 * @throws {HandshakeError} on a malformed message, a failed decryption (cause:
 *   {@link DecryptError}) or a closed stream, and its subclasses
 *   {@link BadSignatureError}, {@link IdentityMismatchError} and
 *   {@link LowOrderPointError}; the signal's reason on abort.
 */
export async function secureHandshake(
  io: HandshakeIO,
  opts: HandshakeOptions,
): Promise<SecureSession> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const initiator = opts.role === "initiator";
  if (opts.role !== "initiator" && opts.role !== "responder") {
    throw new TypeError(`Unknown handshake role "${opts.role}"`);
  }
  const state = new HandshakeState({
    initiator,
    prologue: PROLOGUE,
    staticKeyPair: opts.identity.noiseStatic,
    ...(opts.ephemeralKeyPair && { ephemeralKeyPair: opts.ephemeralKeyPair }),
  });
  const sendIdentity = (h: Uint8Array) =>
    encodeIdentityPayload(opts.identity, h);
  let peerId: Uint8Array;

  if (initiator) {
    await send(io, state.writeMessage(new Uint8Array(0)), signal);
    const payload = await receive(io, state, 1, signal);
    peerId = checkIdentityPayload(payload, state, opts.expectedPeerId);
    await send(io, state.writeMessage(sendIdentity), signal);
  } else {
    const first = await receive(io, state, 0, signal);
    if (first.length !== 0) {
      throw new HandshakeError(
        `Handshake message 1 has a ${first.length}-byte payload, expected none`,
      );
    }
    await send(io, state.writeMessage(sendIdentity), signal);
    const payload = await receive(io, state, 2, signal);
    peerId = checkIdentityPayload(payload, state, opts.expectedPeerId);
  }

  const keys = state.split();
  log.debug("Handshake complete as {role}", { role: opts.role });
  return {
    peerId,
    sender: new TransportCipher(keys.send),
    receiver: new TransportCipher(keys.receive),
    handshakeHash: state.handshakeHash,
  };
}

/** The bytes an identity signs: `dsync/1 identity` ‖ h. */
export function signatureInput(payloadHash: Uint8Array): Uint8Array {
  const input = new Uint8Array(SIGNATURE_CONTEXT.length + payloadHash.length);
  input.set(SIGNATURE_CONTEXT, 0);
  input.set(payloadHash, SIGNATURE_CONTEXT.length);
  return input;
}

/** Encodes version ‖ public key ‖ signature over {@link signatureInput}(h). */
export function encodeIdentityPayload(
  identity: HandshakeIdentity,
  payloadHash: Uint8Array,
): Uint8Array {
  const signature = identity.sign(signatureInput(payloadHash));
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload[0] = PAYLOAD_VERSION;
  payload.set(identity.publicKey, 1);
  payload.set(signature, 1 + SIGNING_KEY_LENGTH);
  return payload;
}

/** Parsed identity payload. */
export interface IdentityPayload {
  publicKey: Uint8Array;
  signature: Uint8Array;
}

/**
 * Parses an identity payload strictly.
 * @throws {HandshakeError} on a wrong length or version.
 */
export function decodeIdentityPayload(payload: Uint8Array): IdentityPayload {
  if (payload.length !== PAYLOAD_LENGTH) {
    throw new HandshakeError(
      `Identity payload is ${payload.length} bytes, expected ${PAYLOAD_LENGTH}`,
    );
  }
  if (payload[0] !== PAYLOAD_VERSION) {
    throw new HandshakeError(
      `Identity payload version ${payload[0]} is not ${PAYLOAD_VERSION}`,
    );
  }
  return {
    publicKey: payload.slice(1, 1 + SIGNING_KEY_LENGTH),
    signature: payload.slice(1 + SIGNING_KEY_LENGTH),
  };
}

function checkIdentityPayload(
  payload: Uint8Array,
  state: HandshakeState,
  expectedPeerId: Uint8Array | undefined,
): Uint8Array {
  const { publicKey, signature } = decodeIdentityPayload(payload);
  const payloadHash = state.payloadHash;
  if (
    payloadHash === undefined ||
    !verifySignature(publicKey, signatureInput(payloadHash), signature)
  ) {
    throw new BadSignatureError(
      `Identity signature of peer ${hex(publicKey)} does not verify`,
    );
  }
  if (expectedPeerId !== undefined && !equalBytes(publicKey, expectedPeerId)) {
    throw new IdentityMismatchError(
      `Peer proved id ${hex(publicKey)}, expected ${hex(expectedPeerId)}`,
    );
  }
  return publicKey;
}

async function send(
  io: HandshakeIO,
  message: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<void> {
  const framed = new Uint8Array(2 + message.length);
  new DataView(framed.buffer).setUint16(0, message.length, false);
  framed.set(message, 2);
  await guard(io.write(framed), signal, "writing a handshake message");
}

/** Reads handshake message `index` and returns its decrypted payload. */
async function receive(
  io: HandshakeIO,
  state: HandshakeState,
  index: 0 | 1 | 2,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const number = index + 1;
  const expected = MESSAGE_LENGTHS[index];
  const prefix = await readExact(io, 2, signal, number);
  const length = (prefix[0]! << 8) | prefix[1]!;
  if (length !== expected) {
    throw new HandshakeError(
      `Handshake message ${number} announces ${length} bytes, expected ${expected}`,
    );
  }
  const message = await readExact(io, length, signal, number);
  try {
    return state.readMessage(message);
  } catch (error) {
    if (!(error instanceof DecryptError)) throw error;
    throw new HandshakeError(
      `Handshake message ${number} failed authentication (tampered, or another protocol or prologue)`,
      { cause: error },
    );
  }
}

async function readExact(
  io: HandshakeIO,
  n: number,
  signal: AbortSignal | undefined,
  number: number,
): Promise<Uint8Array> {
  const bytes = await guard(
    io.readExact(n),
    signal,
    `reading handshake message ${number}`,
  );
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new HandshakeError(
      `Handshake message ${number} is truncated: wanted ${n} bytes`,
    );
  }
  return bytes;
}

/** Awaits `operation`, rejecting early on abort; stream errors become HandshakeError. */
async function guard<T>(
  operation: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  // The losing promise must not surface as an unhandled rejection.
  aborted.catch(() => {});
  operation.catch(() => {});
  try {
    return await Promise.race([operation, aborted]);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof HandshakeError) throw error;
    throw new HandshakeError(`Stream failed while ${what}`, { cause: error });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
