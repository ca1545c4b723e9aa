/**
 * The connection pool as the sync engine uses it: peers come and go, and
 * each one's messages arrive (a `ConnectionPool` and its `SecureChannel`s
 * fit).
 * @module
 */

/** The connection as the engine uses it (a `SecureChannel` fits). */
export interface PeerChannel {
  /** The peer's stable device key (its fingerprint is what people see). */
  readonly peerDevice?: Uint8Array;
  /** `host:port` of the other end, for status displays. */
  readonly remoteAddr?: string;
  /** One message, maybe in pieces (sent as their concatenation). */
  send(message: Uint8Array | readonly Uint8Array[]): Promise<void>;
  abort(error: Error): void;
}

/** Events the engine subscribes to (a `ConnectionPool`'s). */
export interface PeerPoolEvents {
  "peer-connected": { peerId: Uint8Array; channel: PeerChannel };
  "peer-disconnected": {
    peerId: Uint8Array;
    reason: { kind: string; reason?: string; error?: Error };
  };
  "message": { peerId: Uint8Array; message: Uint8Array };
}

/** The connection pool as the engine uses it (`ConnectionPool` fits). */
export interface PeerPool {
  on<K extends keyof PeerPoolEvents>(
    type: K,
    handler: (event: PeerPoolEvents[K]) => void | Promise<void>,
  ): () => void;
}

/** Why a peer disconnected, in one line for the log. */
export function describeReason(
  reason: PeerPoolEvents["peer-disconnected"]["reason"],
): string {
  if (reason.error !== undefined) {
    return `${reason.error.name}: ${reason.error.message}`;
  }
  return reason.reason === undefined
    ? reason.kind
    : `${reason.kind} (${reason.reason})`;
}
