/**
 * How logs name a peer: its display name and fingerprint, or the
 * fingerprint alone before its hello.
 * @module
 */

/** `name (fingerprint)`, or `fingerprint` when the name is not known. */
export function peerLabel(
  name: string | undefined,
  fingerprint: string,
): string {
  return name === undefined ? fingerprint : `${name} (${fingerprint})`;
}
