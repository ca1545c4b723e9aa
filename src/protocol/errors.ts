/**
 * Errors of the application protocol. Decoding throws only these, so the
 * transport can close the connection on any `ProtocolError` and treat every
 * other exception as a bug.
 */

/** Base of every protocol violation: the peer sent (or we tried to send) an invalid message. */
export class ProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/** The bytes do not form a message: truncation, unknown type or enum, bad UTF-8, trailing bytes, inconsistent fields. */
export class MalformedMessageError extends ProtocolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MalformedMessageError";
  }
}

/** A field is well-formed but above a protocol limit (see `limits.ts`). */
export class LimitExceededError extends ProtocolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LimitExceededError";
  }
}

/** The peer speaks a protocol version this build does not. */
export class UnsupportedVersionError extends ProtocolError {
  /** The version the peer announced. */
  readonly version: number;

  constructor(version: number, options?: ErrorOptions) {
    super(`Unsupported protocol version ${version}`, options);
    this.name = "UnsupportedVersionError";
    this.version = version;
  }
}

/** Why a wire path was refused. */
export type InvalidPathReason =
  | "not a string"
  | "empty"
  | "not well-formed Unicode"
  | "too long"
  | "not NFC"
  | "absolute"
  | "drive letter"
  | "backslash"
  | "control character"
  | "empty component"
  | "dot component"
  | "component too long"
  | "character not allowed on Windows"
  | "trailing dot or space"
  | "reserved Windows name";

/** A path that must not be used inside the synced folder. */
export class InvalidPathError extends ProtocolError {
  /** The offending path (as received; may contain control characters). */
  readonly path: string;
  /** The rule it broke. */
  readonly reason: InvalidPathReason;

  /** `where` names the field holding the path, for the message. */
  constructor(
    path: string,
    reason: InvalidPathReason,
    where?: string,
    options?: ErrorOptions,
  ) {
    super(
      `Invalid path ${JSON.stringify(path)}${
        where === undefined ? "" : ` in ${where}`
      }: ${reason}`,
      options,
    );
    this.name = "InvalidPathError";
    this.path = path;
    this.reason = reason;
  }
}
