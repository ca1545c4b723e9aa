/**
 * The dsync handshake: Noise XX with prologue `dsync/2`, each message behind a
 * 2-byte big-endian length, and in the payloads of messages 2 and 3: an
 * Ed25519 identity proof (the session key signs `h`), the device key's
 * endorsement of that session key, and the group membership proof (an HMAC
 * of `h` under the group's membership key). Both sides have proved
 * membership before either sends an application message (see
 * docs/PROTOCOL.md, "Handshake").
 */
import { getLogger } from "@logtape/logtape";
import { TAG_LENGTH } from "./aead.ts";
import type { KeyPair } from "./dh.ts";
import {
  BadSignatureError,
  DecryptError,
  HandshakeError,
  IdentityMismatchError,
  NotGroupMemberError,
} from "./errors.ts";
import {
  type HandshakeMembership,
  MEMBERSHIP_PROOF_LENGTH,
  OPEN_MEMBERSHIP,
} from "./membership.ts";
import { HandshakeState } from "./noise.ts";
import {
  SIGNATURE_LENGTH,
  SIGNING_KEY_LENGTH,
  verifySignature,
} from "./signature.ts";
import { TransportCipher } from "./transport_cipher.ts";

const log = getLogger(["dsync", "crypto"]);

/** Noise prologue: the ASCII bytes `dsync/2`. */
export const PROLOGUE: Uint8Array = new TextEncoder().encode("dsync/2");
/** Signed prefix before the handshake hash: the ASCII bytes `dsync/2 identity`. */
export const SIGNATURE_CONTEXT: Uint8Array = new TextEncoder().encode(
  "dsync/2 identity",
);
/** Signed prefix before the session key in a device endorsement: `dsync/2 device`. */
export const ENDORSEMENT_CONTEXT: Uint8Array = new TextEncoder().encode(
  "dsync/2 device",
);
/** Identity payload version byte. */
export const PAYLOAD_VERSION = 2;
/** Mode byte: the sender proves membership of the group. */
export const MODE_MEMBER = 1;
/** Mode byte: the sender (an initiator) has no group yet and asks to join. */
export const MODE_JOIN = 2;
/**
 * Identity payload: version ‖ session Ed25519 public key ‖ its signature
 * over `dsync/2 identity` ‖ h ‖ device Ed25519 public key ‖ the device's
 * signature over `dsync/2 device` ‖ session key ‖ mode ‖ membership proof.
 */
export const PAYLOAD_LENGTH = 1 + SIGNING_KEY_LENGTH + SIGNATURE_LENGTH +
  SIGNING_KEY_LENGTH + SIGNATURE_LENGTH + 1 + MEMBERSHIP_PROOF_LENGTH;

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

/** The stable key of a device, which endorses each session key. */
export interface HandshakeDevice {
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** Signature over `dsync/2 device` ‖ `sessionPublicKey`. */
  endorse(sessionPublicKey: Uint8Array): Uint8Array;
}

/** What the handshake needs of the local identity (an `Identity` fits). */
export interface HandshakeIdentity {
  readonly publicKey: Uint8Array;
  readonly noiseStatic: KeyPair;
  sign(message: Uint8Array): Uint8Array;
  /** The device key; without one the session key stands for the device. */
  readonly device?: HandshakeDevice | undefined;
  /** The group this side proves (default: the open pseudo-group). */
  readonly membership?: HandshakeMembership | undefined;
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
  /** The peer's device key (32 bytes), which endorsed `peerId`. */
  peerDevice: Uint8Array;
  /**
   * `member`: the peer proved our group. `join`: the peer (an initiator)
   * has no group and asked to join; only the join exchange may run.
   */
  peerMode: "member" | "join";
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
  const membership = opts.identity.membership ?? OPEN_MEMBERSHIP;
  const role = opts.role;
  const sendIdentity = (h: Uint8Array) =>
    encodeIdentityPayload(opts.identity, h, role);
  let peer: CheckedPayload;

  if (initiator) {
    await send(io, state.writeMessage(new Uint8Array(0)), signal);
    const payload = await receive(io, state, 1, signal);
    peer = checkIdentityPayload(payload, state, opts.expectedPeerId);
    // A joiner has no secret to check the responder's proof with: the join
    // PAKE authenticates the responder instead.
    const notMember = membership.mode === "member" &&
      (peer.mode !== MODE_MEMBER ||
        !membership.verify("responder", peer.payloadHash, peer.proof));
    // Message 3 goes out even to a non-member, so that the responder can
    // tell who was refused; it carries nothing the peer can use.
    await send(io, state.writeMessage(sendIdentity), signal);
    if (notMember) {
      throw new NotGroupMemberError(
        `Peer ${hex(peer.publicKey)} is not in this folder's group`,
      );
    }
  } else {
    const first = await receive(io, state, 0, signal);
    if (first.length !== 0) {
      throw new HandshakeError(
        `Handshake message 1 has a ${first.length}-byte payload, expected none`,
      );
    }
    await send(io, state.writeMessage(sendIdentity), signal);
    const payload = await receive(io, state, 2, signal);
    peer = checkIdentityPayload(payload, state, opts.expectedPeerId);
    if (
      peer.mode === MODE_MEMBER &&
      !membership.verify("initiator", peer.payloadHash, peer.proof)
    ) {
      throw new NotGroupMemberError(
        `Peer ${hex(peer.publicKey)} is not in this folder's group`,
      );
    }
  }
  const peerId = peer.publicKey;
  const keys = state.split();
  log.debug("Handshake complete as {role}", { role: opts.role });
  return {
    peerId,
    peerDevice: peer.device,
    peerMode: peer.mode === MODE_JOIN ? "join" : "member",
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

/** The bytes a device key signs to endorse a session key. */
export function endorsementInput(sessionPublicKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(
    ENDORSEMENT_CONTEXT.length + sessionPublicKey.length,
  );
  input.set(ENDORSEMENT_CONTEXT, 0);
  input.set(sessionPublicKey, ENDORSEMENT_CONTEXT.length);
  return input;
}

/** Encodes the identity payload of the sender in `role` (see {@link PAYLOAD_LENGTH}). */
export function encodeIdentityPayload(
  identity: HandshakeIdentity,
  payloadHash: Uint8Array,
  role: "initiator" | "responder",
): Uint8Array {
  const membership = identity.membership ?? OPEN_MEMBERSHIP;
  if (membership.mode === "join" && role !== "initiator") {
    throw new TypeError("Only an initiator can ask to join a group");
  }
  const device = identity.device;
  const devicePublicKey = device?.publicKey ?? identity.publicKey;
  const endorsement = device === undefined
    ? identity.sign(endorsementInput(identity.publicKey))
    : device.endorse(identity.publicKey);
  const proof = membership.prove(role, payloadHash);
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  let at = 0;
  const put = (bytes: Uint8Array, length: number) => {
    if (bytes.length !== length) {
      throw new RangeError(
        `Payload field is ${bytes.length} bytes, not ${length}`,
      );
    }
    payload.set(bytes, at);
    at += length;
  };
  payload[at++] = PAYLOAD_VERSION;
  put(identity.publicKey, SIGNING_KEY_LENGTH);
  put(identity.sign(signatureInput(payloadHash)), SIGNATURE_LENGTH);
  put(devicePublicKey, SIGNING_KEY_LENGTH);
  put(endorsement, SIGNATURE_LENGTH);
  payload[at++] = membership.mode === "join" ? MODE_JOIN : MODE_MEMBER;
  put(proof, MEMBERSHIP_PROOF_LENGTH);
  return payload;
}

/** Parsed identity payload. */
export interface IdentityPayload {
  publicKey: Uint8Array;
  signature: Uint8Array;
  device: Uint8Array;
  endorsement: Uint8Array;
  /** {@link MODE_MEMBER} or {@link MODE_JOIN}. */
  mode: number;
  proof: Uint8Array;
}

/**
 * Parses an identity payload strictly.
 * @throws {HandshakeError} on a wrong length, version or mode.
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
  let at = 1;
  const take = (n: number) => payload.slice(at, at += n);
  const publicKey = take(SIGNING_KEY_LENGTH);
  const signature = take(SIGNATURE_LENGTH);
  const device = take(SIGNING_KEY_LENGTH);
  const endorsement = take(SIGNATURE_LENGTH);
  const mode = payload[at++]!;
  if (mode !== MODE_MEMBER && mode !== MODE_JOIN) {
    throw new HandshakeError(`Identity payload mode ${mode} is unknown`);
  }
  const proof = take(MEMBERSHIP_PROOF_LENGTH);
  return { publicKey, signature, device, endorsement, mode, proof };
}

interface CheckedPayload extends IdentityPayload {
  /** The `h` the payload was sealed under (what its proofs bind to). */
  payloadHash: Uint8Array;
}

function checkIdentityPayload(
  payload: Uint8Array,
  state: HandshakeState,
  expectedPeerId: Uint8Array | undefined,
): CheckedPayload {
  const decoded = decodeIdentityPayload(payload);
  const { publicKey, signature } = decoded;
  const payloadHash = state.payloadHash;
  if (
    payloadHash === undefined ||
    !verifySignature(publicKey, signatureInput(payloadHash), signature)
  ) {
    throw new BadSignatureError(
      `Identity signature of peer ${hex(publicKey)} does not verify`,
    );
  }
  if (
    !verifySignature(
      decoded.device,
      endorsementInput(publicKey),
      decoded.endorsement,
    )
  ) {
    throw new BadSignatureError(
      `Device endorsement of peer ${hex(publicKey)} does not verify`,
    );
  }
  if (expectedPeerId !== undefined && !equalBytes(publicKey, expectedPeerId)) {
    throw new IdentityMismatchError(
      `Peer proved id ${hex(publicKey)}, expected ${hex(expectedPeerId)}`,
    );
  }
  return { ...decoded, payloadHash: payloadHash.slice() };
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
