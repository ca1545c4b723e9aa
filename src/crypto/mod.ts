/**
 * Cryptography for dsync: the Noise XX handshake with Ed25519 identity proofs,
 * the per-direction transport ciphers, and thin wrappers over the libraries.
 */
export {
  BadSignatureError,
  DecryptError,
  HandshakeError,
  IdentityMismatchError,
  LowOrderPointError,
  NonceExhaustedError,
  NotGroupMemberError,
} from "./errors.ts";
export {
  ENDORSEMENT_CONTEXT,
  endorsementInput,
  type HandshakeDevice,
  type HandshakeIdentity,
  type HandshakeIO,
  type HandshakeOptions,
  secureHandshake,
  type SecureSession,
} from "./handshake.ts";
export {
  MAX_PLAINTEXT,
  REKEY_INTERVAL,
  TransportCipher,
  type TransportCipherOptions,
} from "./transport_cipher.ts";
export { generateKeyPair, type KeyPair } from "./dh.ts";
export { MAX_NOISE_MESSAGE } from "./noise.ts";
export {
  isValidSigningKey,
  sign,
  SIGNATURE_LENGTH,
  SIGNING_KEY_LENGTH,
  signingKeyPair,
  verifySignature,
} from "./signature.ts";
export {
  constantTimeEqual,
  deriveGroupKey,
  groupMembership,
  type HandshakeMembership,
  type HandshakeRole,
  JOIN_MEMBERSHIP,
  MEMBERSHIP_CONTEXT,
  MEMBERSHIP_KEY_LABEL,
  MEMBERSHIP_PROOF_LENGTH,
  MEMBERSHIP_ROLE_BYTE,
  membershipProof,
  OPEN_GROUP_LABEL,
  OPEN_GROUP_SECRET,
  OPEN_MEMBERSHIP,
} from "./membership.ts";
