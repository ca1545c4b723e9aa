/**
 * The proof of group membership a peer puts in its Noise message 2
 * (responder) or 3 (initiator) payload: an HMAC of the handshake hash under
 * a key only members can derive. Bound to `h`, it cannot be replayed into
 * another session; carrying the sender's role, it cannot be reflected back
 * to its sender within the same session.
 */
import {
  constantTimeEqual,
  type HandshakeRole,
  MEMBERSHIP_CONTEXT,
  MEMBERSHIP_PROOF_LENGTH,
  MEMBERSHIP_ROLE_BYTE,
  membershipProof,
} from "../crypto/mod.ts";
import { requireLength } from "./_bytes.ts";
import type { GroupSecret } from "./group_secret.ts";

export {
  type HandshakeRole,
  MEMBERSHIP_CONTEXT,
  MEMBERSHIP_PROOF_LENGTH,
  MEMBERSHIP_ROLE_BYTE,
};
/** Length of the Noise handshake hash the proof binds to. */
export const HANDSHAKE_HASH_LENGTH = 32;

/** HMAC-SHA256(membershipKey, "dsync/2 member" ‖ role ‖ h), `role` being the sender's. */
export function proveMembership(
  secret: GroupSecret,
  senderRole: HandshakeRole,
  handshakeHash: Uint8Array,
): Uint8Array {
  requireLength("Handshake hash", handshakeHash, HANDSHAKE_HASH_LENGTH);
  return membershipProof(secret.membershipKey, senderRole, handshakeHash);
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
  return proof instanceof Uint8Array && constantTimeEqual(proof, expected);
}
