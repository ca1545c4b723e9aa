/**
 * The ephemeral identity of a dsync run and how peer ids are written:
 * 64 hex characters on the wire, a short fingerprint for humans.
 */
export {
  fingerprint,
  Identity,
  parsePeerIdHex,
  PEER_ID_LENGTH,
  peerIdHex,
  samePeerId,
  verifySignature,
} from "./identity.ts";
