/**
 * Which connection to keep when two exist to the same peer. Both ends must
 * reach the same answer without talking, so the rule uses only what both know:
 * the two public keys and who dialed each connection.
 */

/** Who opened a connection, seen from this side. */
export type Initiator = "local" | "remote";

/** Bytewise comparison: negative, zero or positive like `Array.sort`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Decides between an `existing` connection to a peer and a `candidate` one.
 *
 * - Opened by different sides (simultaneous dial): keep the one opened by the
 *   peer whose public key is lower, bytewise. Both sides compute the same.
 * - Opened by the same side: keep the candidate; the dialer evidently gave up
 *   on the old one (it restarted or its connection died unnoticed here).
 */
export function chooseConnection(
  localId: Uint8Array,
  remoteId: Uint8Array,
  existing: Initiator,
  candidate: Initiator,
): "existing" | "candidate" {
  const order = compareBytes(localId, remoteId);
  if (order === 0) {
    throw new RangeError("Cannot choose a connection to ourselves");
  }
  if (existing === candidate) return "candidate";
  const preferred: Initiator = order < 0 ? "local" : "remote";
  return existing === preferred ? "existing" : "candidate";
}
