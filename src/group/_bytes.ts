/** Byte helpers shared by the group files: concatenation, hex, constant-time compare. */

const encoder = new TextEncoder();

/** ASCII/UTF-8 bytes of a label. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** `a ‖ b ‖ …` */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Equal lengths compared in constant time (the handshake's compare). */
export { constantTimeEqual as equalBytes } from "../crypto/mod.ts";

/** Throws a RangeError unless `bytes` is a Uint8Array of exactly `length` bytes. */
export function requireLength(
  what: string,
  bytes: unknown,
  length: number,
): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length !== length) {
    throw new RangeError(
      `${what} must be ${length} bytes, got ${bytes.length}`,
    );
  }
}

/** Source of random bytes; injected so tests can be deterministic. */
export type RandomBytes = (length: number) => Uint8Array;

/** The system CSPRNG. */
export const systemRandom: RandomBytes = (length) =>
  crypto.getRandomValues(new Uint8Array(length));

/** Calls `random(length)` and checks that it kept its promise. */
export function drawRandom(random: RandomBytes, length: number): Uint8Array {
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(
      `Random source returned ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      } bytes, expected ${length}`,
    );
  }
  return bytes;
}
