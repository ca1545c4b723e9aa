/**
 * Errors of the group layer that callers catch and act on. Bad arguments from
 * our own code are `TypeError`/`RangeError`; these classes are for conditions
 * a user or a peer causes, told apart by class and by `kind`.
 */

/** What is wrong with a join code, or why it can no longer be used. */
export type JoinCodeErrorKind =
  | "empty"
  | "symbol"
  | "length"
  | "check"
  | "none"
  | "expired"
  | "spent"
  | "used";

/**
 * A join code was mistyped (caught locally, before any network attempt), or
 * the issued code cannot be used any more.
 */
export class JoinCodeError extends Error {
  readonly kind: JoinCodeErrorKind;
  constructor(
    kind: JoinCodeErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "JoinCodeError";
    this.kind = kind;
  }
}

/** The peer's CPace share is not a valid ristretto255 element for a PAKE. */
export class PakeShareError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PakeShareError";
  }
}

/**
 * The peer's key-confirmation tag did not verify: the two sides used
 * different join codes (or the transcript was altered). Says nothing more.
 */
export class JoinConfirmationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JoinConfirmationError";
  }
}

/** Why a key file under `.dsync/` was refused. */
export type KeyFileErrorKind = "size" | "permissions" | "not-a-file" | "open";

/**
 * A key file (`group.key`, `device.key`) exists but cannot be trusted:
 * wrong size, readable by group or others, not a regular file, or holding
 * the well-known open-group secret.
 */
export class KeyFileError extends Error {
  readonly kind: KeyFileErrorKind;
  readonly path: string;
  constructor(
    kind: KeyFileErrorKind,
    path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KeyFileError";
    this.kind = kind;
    this.path = path;
  }
}
