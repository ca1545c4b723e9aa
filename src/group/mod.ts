/**
 * Groups: who may sync a folder. Membership is knowledge of a 32-byte group
 * secret; a new device gets it through a join code and a CPace PAKE run inside
 * the encrypted channel. This module is the pure and cryptographic core —
 * codes, PAKE, secret and device key files, the handshake proof, the mDNS
 * tag — with no networking. docs/GROUPS.md is the exact description.
 * @module
 */
export {
  JoinCodeError,
  type JoinCodeErrorKind,
  JoinConfirmationError,
  KeyFileError,
  type KeyFileErrorKind,
  PakeShareError,
} from "./errors.ts";
export type { RandomBytes } from "./_bytes.ts";
export {
  generateJoinCode,
  JOIN_CODE_ALPHABET,
  JOIN_CODE_LIFETIME_MS,
  JOIN_CODE_MAX_ATTEMPTS,
  JOIN_CODE_SECRET_BITS,
  JOIN_CODE_SYMBOLS,
  type JoinAttempt,
  JoinCode,
  JoinCodeBook,
  type JoinCodeBookOptions,
  type JoinCodeState,
  type JoinCodeStatus,
  parseJoinCode,
} from "./join_code.ts";
export {
  CPACE_DSI,
  type JoinKeys,
  JoinPake,
  type JoinPakeOptions,
  type PakeRole,
} from "./cpace.ts";
export {
  GROUP_KEY_FILE,
  GROUP_SECRET_LENGTH,
  groupKeyPath,
  GroupSecret,
  OPEN_GROUP_LABEL,
} from "./group_secret.ts";
export {
  type HandshakeRole,
  MEMBERSHIP_PROOF_LENGTH,
  proveMembership,
  verifyMembership,
} from "./membership_proof.ts";
export { groupTag, matchesGroup, TAG_BYTES } from "./group_tag.ts";
export {
  DEVICE_KEY_FILE,
  DeviceKey,
  deviceKeyPath,
  ENDORSEMENT_LENGTH,
  verifyEndorsement,
} from "./device_key.ts";
export {
  answerJoin,
  JOIN_STEP_TIMEOUT_MS,
  type JoinChannel,
  type JoinOutcome,
  type JoinRefusal,
  JoinRefusedError,
  refuseJoin,
  requestJoin,
} from "./join_session.ts";
