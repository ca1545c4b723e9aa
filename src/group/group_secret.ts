/**
 * The group secret: 32 random bytes in `<folder>/.dsync/group.key` whose
 * possession *is* membership of the folder's group. It never leaves the
 * device in the clear and is never logged; everything else is derived from
 * it with HKDF under distinct labels, so a key used in one place (an mDNS
 * tag anyone can see) says nothing about a key used in another (the
 * membership proof in the handshake).
 */
import {
  deriveGroupKey,
  groupMembership,
  type HandshakeMembership,
  MEMBERSHIP_KEY_LABEL,
  OPEN_GROUP_SECRET,
} from "../crypto/mod.ts";
import {
  drawRandom,
  equalBytes,
  type RandomBytes,
  requireLength,
  systemRandom,
} from "./_bytes.ts";
import { GROUP_KEY_FILE } from "../index/mod.ts";
import { keyFilePath, readKeyFile, writeKeyFile } from "./_key_file.ts";
import { KeyFileError } from "./errors.ts";

/** File name of the group secret inside `.dsync/` (defined with the rest of that layout). */
export { GROUP_KEY_FILE };

/** Length of a group secret in bytes. */
export const GROUP_SECRET_LENGTH = 32;

/** HKDF info labels (salt is empty, hash SHA-256, 32 bytes out unless noted). */
export const GROUP_LABELS = {
  membership: MEMBERSHIP_KEY_LABEL,
  mdnsTag: "dsync/2 mdns tag key",
  secretWrap: "dsync/2 secret wrap key",
  fingerprint: "dsync/2 group fingerprint",
} as const;

export { OPEN_GROUP_LABEL } from "../crypto/mod.ts";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const OPEN_SECRET = OPEN_GROUP_SECRET;

/** A group secret and the keys derived from it. */
export class GroupSecret {
  static readonly #openGroup = new GroupSecret(OPEN_SECRET, true);
  readonly #bytes: Uint8Array;
  readonly #open: boolean;

  private constructor(bytes: Uint8Array, open: boolean) {
    this.#bytes = bytes;
    this.#open = open;
  }

  /** A new group: 32 bytes from `random` (the system CSPRNG by default). */
  static generate(random: RandomBytes = systemRandom): GroupSecret {
    return GroupSecret.fromBytes(
      drawRandom(random, GROUP_SECRET_LENGTH).slice(),
    );
  }

  /**
   * A group secret from its 32 bytes (e.g. received in a join).
   * @throws {RangeError} on a wrong length, or for the open-group secret,
   *   which must come from {@link GroupSecret.open} only.
   */
  static fromBytes(bytes: Uint8Array): GroupSecret {
    requireLength("Group secret", bytes, GROUP_SECRET_LENGTH);
    if (equalBytes(bytes, OPEN_SECRET)) {
      throw new RangeError(
        "Group secret is the public open-group secret, not a real group",
      );
    }
    return new GroupSecret(bytes.slice(), false);
  }

  /**
   * The `--open` pseudo-group: a fixed secret anyone can compute,
   * SHA-256("dsync/2 open group"). Open instances recognise each other with
   * it; it grants nothing, and no real group can have it.
   */
  static open(): GroupSecret {
    return GroupSecret.#openGroup;
  }

  /**
   * Loads `<folder>/.dsync/group.key`.
   * @throws {Deno.errors.NotFound} if the folder has no group yet.
   * @throws {KeyFileError} on a wrong size, group/other permissions (POSIX),
   *   a non-regular file, or the open-group secret stored as a real one.
   */
  static async load(folder: string): Promise<GroupSecret> {
    const path = groupKeyPath(folder);
    const bytes = await readKeyFile(path, GROUP_SECRET_LENGTH, "group key");
    if (equalBytes(bytes, OPEN_SECRET)) {
      throw new KeyFileError(
        "open",
        path,
        `Cannot load group key ${path}: it holds the public open-group secret`,
      );
    }
    return new GroupSecret(bytes, false);
  }

  /** Writes `<folder>/.dsync/group.key` (0600, atomically replacing it). */
  async save(folder: string): Promise<void> {
    if (this.#open) {
      throw new TypeError("The open group is not saved: it has no secret");
    }
    await writeKeyFile(folder, GROUP_KEY_FILE, this.#bytes, "replace");
  }

  /** True for the public `--open` pseudo-group. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** The raw secret, for handing it to a joiner under a handover key only. */
  exportBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** Key of the membership proof in the handshake. */
  get membershipKey(): Uint8Array {
    return this.#derive(GROUP_LABELS.membership, 32);
  }

  /** What the handshake proves for this group. */
  get membership(): HandshakeMembership {
    return groupMembership(this.membershipKey);
  }

  /** Key of the mDNS group tag. */
  get mdnsTagKey(): Uint8Array {
    return this.#derive(GROUP_LABELS.mdnsTag, 32);
  }

  /** Key for wrapping secrets addressed to current members of this group. */
  get secretWrapKey(): Uint8Array {
    return this.#derive(GROUP_LABELS.secretWrap, 32);
  }

  /**
   * A short name of the group for people comparing two devices: 60 bits of
   * HKDF output in RFC 4648 base32, `XXXX-XXXX-XXXX` (the format of device
   * fingerprints). Not a credential; reveals nothing usable of the secret.
   */
  get fingerprint(): string {
    const bytes = this.#derive(GROUP_LABELS.fingerprint, 8);
    let bits = 0n;
    for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
    let chars = "";
    for (let i = 1; i <= 12; i++) {
      chars += BASE32[Number((bits >> BigInt(64 - 5 * i)) & 31n)];
    }
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  }

  /** Same secret, compared in constant time. */
  equals(other: GroupSecret): boolean {
    return equalBytes(this.#bytes, other.#bytes);
  }

  toString(): string {
    return this.#open
      ? "GroupSecret(open)"
      : `GroupSecret(${this.fingerprint})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** JSON form for logs: the fingerprint only. */
  toJSON(): { group: string } {
    return { group: this.#open ? "open" : this.fingerprint };
  }

  #derive(label: string, length: number): Uint8Array {
    return deriveGroupKey(this.#bytes, label, length);
  }
}

/** `<folder>/.dsync/group.key` */
export function groupKeyPath(folder: string): string {
  return keyFilePath(folder, GROUP_KEY_FILE);
}
