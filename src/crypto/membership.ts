/**
 * What a peer proves about its group inside the handshake. Membership of a
 * folder's group is knowledge of the group secret; the handshake carries an
 * HMAC of its own hash `h` under a key derived from that secret, so the
 * proof is bound to this very session (not replayable, not relayable) and
 * to the sender's role (not reflectable). The secret and its files live in
 * `src/group/`; this module holds only what the handshake needs, including
 * the public "open LAN" pseudo-group that `--open` instances share.
 * @module
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/** The sender's place in the Noise handshake. */
export type HandshakeRole = "initiator" | "responder";

/** Length of a membership proof (HMAC-SHA-256). */
export const MEMBERSHIP_PROOF_LENGTH = 32;
/** Prefix of the MAC input: the ASCII bytes `dsync/2 member`. */
export const MEMBERSHIP_CONTEXT: Uint8Array = new TextEncoder().encode(
  "dsync/2 member",
);
/** Role byte of the MAC input (the sender's role). */
export const MEMBERSHIP_ROLE_BYTE: Readonly<Record<HandshakeRole, number>> = {
  initiator: 0x01,
  responder: 0x02,
};
/** HKDF info of the membership key derived from a group secret. */
export const MEMBERSHIP_KEY_LABEL = "dsync/2 membership key";
/** The label whose SHA-256 is the public open-group secret. */
export const OPEN_GROUP_LABEL = "dsync/2 open group";
/** The public secret of the `--open` pseudo-group: SHA-256("dsync/2 open group"). */
export const OPEN_GROUP_SECRET: Uint8Array = new Uint8Array(
  createHash("sha256").update(OPEN_GROUP_LABEL).digest(),
);

/** HKDF-SHA-256 of a group secret (empty salt) under `label`. */
export function deriveGroupKey(
  secret: Uint8Array,
  label: string,
  length = 32,
): Uint8Array {
  return new Uint8Array(
    hkdfSync(
      "sha256",
      secret,
      new Uint8Array(0),
      new TextEncoder().encode(label),
      length,
    ),
  );
}

/** HMAC-SHA256(key, "dsync/2 member" ‖ role ‖ h), `role` being the sender's. */
export function membershipProof(
  membershipKey: Uint8Array,
  senderRole: HandshakeRole,
  handshakeHash: Uint8Array,
): Uint8Array {
  const role = MEMBERSHIP_ROLE_BYTE[senderRole];
  if (role === undefined || !Object.hasOwn(MEMBERSHIP_ROLE_BYTE, senderRole)) {
    throw new TypeError(`Unknown handshake role "${senderRole}"`);
  }
  if (handshakeHash.length !== 32) {
    throw new RangeError(
      `Handshake hash is ${handshakeHash.length} bytes, expected 32`,
    );
  }
  return new Uint8Array(
    createHmac("sha256", membershipKey)
      .update(MEMBERSHIP_CONTEXT)
      .update(Uint8Array.of(role))
      .update(handshakeHash)
      .digest(),
  );
}

/**
 * Compares two byte strings in time independent of where they differ;
 * different lengths are simply unequal.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What this side proves, or asks for, in a handshake. */
export interface HandshakeMembership {
  /**
   * `member`: proves the group. `join`: has no secret yet and asks for a
   * join session (initiator only; only the join PAKE runs on it).
   */
  readonly mode: "member" | "join";
  /** Our proof for handshake hash `h` (32 bytes; zeros in join mode). */
  prove(senderRole: HandshakeRole, h: Uint8Array): Uint8Array;
  /** Whether `proof` from a peer in `senderRole` proves our group. */
  verify(senderRole: HandshakeRole, h: Uint8Array, proof: Uint8Array): boolean;
}

/** Membership of the group whose membership key is `membershipKey`. */
export function groupMembership(
  membershipKey: Uint8Array,
): HandshakeMembership {
  const key = membershipKey.slice();
  return {
    mode: "member",
    prove: (role, h) => membershipProof(key, role, h),
    verify: (role, h, proof) =>
      proof.length === MEMBERSHIP_PROOF_LENGTH &&
      constantTimeEqual(proof, membershipProof(key, role, h)),
  };
}

/** The `--open` pseudo-group: any open instance, never a real group. */
export const OPEN_MEMBERSHIP: HandshakeMembership = groupMembership(
  deriveGroupKey(OPEN_GROUP_SECRET, MEMBERSHIP_KEY_LABEL),
);

/** A device with no group yet that asks to join one. */
export const JOIN_MEMBERSHIP: HandshakeMembership = {
  mode: "join",
  prove: () => new Uint8Array(MEMBERSHIP_PROOF_LENGTH),
  verify: () => false,
};
