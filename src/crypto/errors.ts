/**
 * Errors raised by the handshake and the transport cipher. Each one means the
 * connection must be closed; callers tell them apart by class or `name`.
 */

/** The peer sent a malformed handshake message (length, version, layout). */
export class HandshakeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

/** The peer proved an identity other than the one we were told to expect. */
export class IdentityMismatchError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IdentityMismatchError";
  }
}

/**
 * The peer did not prove membership of this folder's group (another group,
 * an open instance, a removed device, or a device that has not joined).
 */
export class NotGroupMemberError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NotGroupMemberError";
  }
}

/** The peer's identity signature over `h`, or its device endorsement, did not verify. */
export class BadSignatureError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BadSignatureError";
  }
}

/** A peer's X25519 public key has low order (the shared secret would be zero). */
export class LowOrderPointError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LowOrderPointError";
  }
}

/** AEAD authentication failed, or the cipher is unusable after an earlier failure. */
export class DecryptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecryptError";
  }
}

/** The 64-bit nonce space of a cipher state is used up (Noise reserves 2^64-1). */
export class NonceExhaustedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NonceExhaustedError";
  }
}
