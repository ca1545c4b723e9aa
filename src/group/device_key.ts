/**
 * The stable device key: an Ed25519 key pair in `<folder>/.dsync/device.key`,
 * created on first use and kept across restarts, so people can recognise a
 * device (by its fingerprint) and remove it from the group. It never speaks
 * in the handshake itself: each run's fresh session key does, and the device
 * key endorses that session key, binding the two.
 */
import {
  ENDORSEMENT_CONTEXT,
  endorsementInput,
  type HandshakeDevice,
  sign,
  SIGNATURE_LENGTH,
  SIGNING_KEY_LENGTH,
  signingKeyPair,
  verifySignature,
} from "../crypto/mod.ts";
import { fingerprint } from "../identity/mod.ts";
import { requireLength } from "./_bytes.ts";
import { DEVICE_KEY_FILE } from "../index/mod.ts";
import { keyFilePath, readKeyFile, writeKeyFile } from "./_key_file.ts";

/** File name of the device key inside `.dsync/` (defined with the rest of that layout). */
export { DEVICE_KEY_FILE };

export { ENDORSEMENT_CONTEXT };
/** Length of an endorsement (an Ed25519 signature). */
export const ENDORSEMENT_LENGTH = SIGNATURE_LENGTH;

/** This device's long-lived Ed25519 key. */
export class DeviceKey implements HandshakeDevice {
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  readonly #seed: Uint8Array;

  private constructor(seed: Uint8Array) {
    const pair = signingKeyPair(seed);
    this.#seed = pair.secretKey;
    this.publicKey = pair.publicKey;
  }

  /** A key from a known 32-byte seed (tests). */
  static fromSeed(seed: Uint8Array): DeviceKey {
    requireLength("Device key seed", seed, SIGNING_KEY_LENGTH);
    return new DeviceKey(seed);
  }

  /**
   * Loads `<folder>/.dsync/device.key`, creating it (0600) on first use. Two
   * processes starting at once end up with the same key: creation links a
   * finished temporary file into place and never overwrites.
   * @throws {KeyFileError} if the file exists but has the wrong size,
   *   group/other permissions (POSIX) or is not a regular file.
   */
  static async loadOrCreate(folder: string): Promise<DeviceKey> {
    const path = deviceKeyPath(folder);
    try {
      return new DeviceKey(
        await readKeyFile(path, SIGNING_KEY_LENGTH, "device key"),
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const fresh = signingKeyPair();
    if (
      await writeKeyFile(folder, DEVICE_KEY_FILE, fresh.secretKey, "create")
    ) {
      return new DeviceKey(fresh.secretKey);
    }
    return new DeviceKey(
      await readKeyFile(path, SIGNING_KEY_LENGTH, "device key"),
    );
  }

  /** `KZDV-VJ2U-MNDU`-style fingerprint, as for peer ids (docs/PROTOCOL.md). */
  get fingerprint(): string {
    return fingerprint(this.publicKey);
  }

  /** Signature over `"dsync/2 device" ‖ sessionPublicKey`. */
  endorse(sessionPublicKey: Uint8Array): Uint8Array {
    requireLength("Session public key", sessionPublicKey, SIGNING_KEY_LENGTH);
    return sign(this.#seed, endorsementInput(sessionPublicKey));
  }

  toString(): string {
    return `DeviceKey(${this.fingerprint})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** JSON form for logs: public values only. */
  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }
}

/**
 * True if `signature` is `devicePublicKey`'s endorsement of
 * `sessionPublicKey` (strict RFC 8032 verification). Malformed input is
 * false, never an error.
 */
export function verifyEndorsement(
  devicePublicKey: Uint8Array,
  sessionPublicKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    !(devicePublicKey instanceof Uint8Array) ||
    !(sessionPublicKey instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    sessionPublicKey.length !== SIGNING_KEY_LENGTH
  ) {
    return false;
  }
  return verifySignature(
    devicePublicKey,
    endorsementInput(sessionPublicKey),
    signature,
  );
}

/** `<folder>/.dsync/device.key` */
export function deviceKeyPath(folder: string): string {
  return keyFilePath(folder, DEVICE_KEY_FILE);
}
