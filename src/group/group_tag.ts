/**
 * The group tag in mDNS TXT records: members of one group recognise each
 * other's announcements, while anyone else sees an unlinkable 128-bit value
 * that changes with every instance id (so a device cannot be followed across
 * restarts by its tag, nor two groups told apart from the outside).
 */
import { createHmac } from "node:crypto";
import { concat, equalBytes, toHex, utf8 } from "./_bytes.ts";
import type { GroupSecret } from "./group_secret.ts";

/** Fixed prefix of the MAC input: the ASCII bytes `dsync/2 tag`. */
export const TAG_CONTEXT: Uint8Array = utf8("dsync/2 tag");
/** Tag length in bytes (32 hex characters in TXT). */
export const TAG_BYTES = 16;
/** Longest instance id accepted. */
export const MAX_INSTANCE_ID_BYTES = 255;

const TAG_HEX = /^[0-9a-f]{32}$/;

/** First 16 bytes of HMAC-SHA256(mdnsTagKey, "dsync/2 tag" ‖ instanceId), lowercase hex. */
export function groupTag(secret: GroupSecret, instanceId: Uint8Array): string {
  checkInstanceId(instanceId);
  const mac = createHmac("sha256", secret.mdnsTagKey)
    .update(concat(TAG_CONTEXT, instanceId))
    .digest();
  return toHex(new Uint8Array(mac.subarray(0, TAG_BYTES)));
}

/**
 * True if `tag` (from an announcement, untrusted) is the tag of
 * `instanceId` in `secret`'s group. A malformed tag is false, never an error.
 */
export function matchesGroup(
  tag: string,
  instanceId: Uint8Array,
  secret: GroupSecret,
): boolean {
  const expected = groupTag(secret, instanceId);
  if (typeof tag !== "string" || !TAG_HEX.test(tag.toLowerCase())) {
    return false;
  }
  const encoder = new TextEncoder();
  return equalBytes(
    encoder.encode(tag.toLowerCase()),
    encoder.encode(expected),
  );
}

function checkInstanceId(instanceId: Uint8Array): void {
  if (!(instanceId instanceof Uint8Array)) {
    throw new TypeError(`Instance id must be a Uint8Array`);
  }
  if (instanceId.length === 0 || instanceId.length > MAX_INSTANCE_ID_BYTES) {
    throw new RangeError(
      `Instance id must be 1–${MAX_INSTANCE_ID_BYTES} bytes, got ${instanceId.length}`,
    );
  }
}
