/**
 * Why a session with a peer was closed for a protocol violation that
 * decoding alone cannot see.
 * @module
 */

import { STATE_DIR } from "../../index/mod.ts";

/** The peer sent a well-formed message at the wrong time, or a Hello we cannot accept. */
export class SessionProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SessionProtocolError";
  }
}

/** The peer announced our own replica id: the folder was copied with its `.dsync/`. */
export class SameReplicaError extends SessionProtocolError {
  constructor(replica: bigint) {
    super(
      `Peer uses our own replica id ${
        replica.toString(16)
      }: was this folder copied with its ${STATE_DIR} directory? Delete ${STATE_DIR} on one side`,
    );
    this.name = "SameReplicaError";
  }
}
