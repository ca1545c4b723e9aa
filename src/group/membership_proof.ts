/**
 * The proof of group membership a peer puts in its Noise message 2
 * (responder) or 3 (initiator) payload: an HMAC of the handshake hash under
 * a key only members can derive. Bound to `h`, it cannot be replayed into
 * another session; carrying the sender's role, it cannot be reflected back
 * to its sender within the same session.
 */
import { createHmac } from "node:crypto";
import { concat, equalBytes, requireLength, utf8 } from "./_bytes.ts";
import type { PakeRole } from "./cpace.ts";
import type { GroupSecret } from "./group_secret.ts";

/** The sender's place in the Noise handshake. */
export type HandshakeRole = PakeRole;

/** Fixed prefix of the MAC input: the ASCII bytes `dsync/2 member`. */
export const MEMBERSHIP_CONTEXT: Uint8Array = utf8("dsync/2 member");
/** Role byte of the MAC input. */
export const MEMBERSHIP_ROLE_BYTE: Readonly<Record<HandshakeRole, number>> = {
  initiator: 0x01,
  responder: 0x02,
};
/** Length of a proof (HMAC-SHA-256). */
export const MEMBERSHIP_PROOF_LENGTH = 32;
/** Length of the Noise handshake hash the proof binds to. */
export const HANDSHAKE_HASH_LENGTH = 32;

/** HMAC-SHA256(membershipKey, "dsync/2 member" ‖ role ‖ h), `role` being the sender's. */
export function proveMembership(
  secret: GroupSecret,
  senderRole: HandshakeRole,
  handshakeHash: Uint8Array,
): Uint8Array {
  const role = roleByte(senderRole);
  requireLength("Handshake hash", handshakeHash, HANDSHAKE_HASH_LENGTH);
  const input = concat(MEMBERSHIP_CONTEXT, Uint8Array.of(role), handshakeHash);
  return new Uint8Array(
    createHmac("sha256", secret.membershipKey).update(input).digest(),
  );
}

/**
 * Checks a peer's proof in constant time. `senderRole` is the *peer's* role.
 * Any malformed proof (wrong type or length) is simply false.
 */
export function verifyMembership(
  secret: GroupSecret,
  senderRole: HandshakeRole,
  handshakeHash: Uint8Array,
  proof: Uint8Array,
): boolean {
  const expected = proveMembership(secret, senderRole, handshakeHash);
  return proof instanceof Uint8Array && equalBytes(proof, expected);
}

function roleByte(role: HandshakeRole): number {
  const byte = MEMBERSHIP_ROLE_BYTE[role];
  if (byte === undefined || !Object.hasOwn(MEMBERSHIP_ROLE_BYTE, role)) {
    throw new TypeError(`Unknown handshake role "${role}"`);
  }
  return byte;
}
