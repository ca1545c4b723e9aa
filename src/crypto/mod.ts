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
} from "./errors.ts";
export {
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
export { verifySignature } from "./signature.ts";
