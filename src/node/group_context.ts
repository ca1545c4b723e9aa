/**
 * The group a running node belongs to: its secret (which can change when a
 * member is removed), this device's key, the join code it may have issued,
 * and the devices of the group it has seen. The handshake asks it, at each
 * connection, what to prove (`membership`), so a rotated secret takes
 * effect for every new connection at once.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  constantTimeEqual,
  type HandshakeMembership,
  type HandshakeRole,
} from "../crypto/mod.ts";
import {
  DeviceKey,
  GroupSecret,
  groupTag,
  JoinCodeBook,
  matchesGroup,
} from "../group/mod.ts";
import { fingerprint, parsePeerIdHex, peerIdHex } from "../identity/mod.ts";
import { MemberBook } from "./member_book.ts";

const log = getLogger(["dsync", "node"]);

/** How a node's group was settled at start. */
export type GroupOrigin = "open" | "created" | "loaded" | "joined";

/** Options of {@linkcode GroupContext.open}. */
export interface GroupContextOptions {
  /** `--open`: the open LAN pseudo-group. */
  readonly open: boolean;
  /** A secret just received with a join code (stored now). */
  readonly joined?: GroupSecret | undefined;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

/** The group of one folder, as the running node sees it. */
export class GroupContext {
  readonly folder: string;
  readonly device: DeviceKey;
  readonly origin: GroupOrigin;
  readonly codes: JoinCodeBook;
  readonly members: MemberBook;
  readonly #now: () => number;
  #secret: GroupSecret;
  readonly #changed = new Set<() => void>();

  private constructor(
    folder: string,
    secret: GroupSecret,
    device: DeviceKey,
    origin: GroupOrigin,
    members: MemberBook,
    now: () => number,
  ) {
    this.folder = folder;
    this.#secret = secret;
    this.device = device;
    this.origin = origin;
    this.members = members;
    this.#now = now;
    this.codes = new JoinCodeBook({ now });
  }

  /**
   * Settles the folder's group: the open pseudo-group, a secret just
   * joined (stored), the stored one, or a new group (created and stored).
   * Loads or creates the device key and the member list.
   */
  static async open(
    folder: string,
    options: GroupContextOptions,
  ): Promise<GroupContext> {
    const now = options.now ?? Date.now;
    const device = await DeviceKey.loadOrCreate(folder);
    const members = await MemberBook.load(folder);
    let secret: GroupSecret;
    let origin: GroupOrigin;
    if (options.open) {
      secret = GroupSecret.open();
      origin = "open";
    } else if (options.joined !== undefined) {
      secret = options.joined;
      await secret.save(folder);
      origin = "joined";
    } else {
      try {
        secret = await GroupSecret.load(folder);
        origin = "loaded";
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        secret = GroupSecret.generate();
        await secret.save(folder);
        origin = "created";
      }
    }
    return new GroupContext(folder, secret, device, origin, members, now);
  }

  /** The current secret (it changes when a member is removed). */
  get secret(): GroupSecret {
    return this.#secret;
  }

  /** True in `--open` mode. */
  get isOpen(): boolean {
    return this.#secret.isOpen;
  }

  /** What the handshake proves and checks: always the current secret. */
  get membership(): HandshakeMembership {
    return {
      mode: "member",
      prove: (role: HandshakeRole, h: Uint8Array) =>
        this.#secret.membership.prove(role, h),
      verify: (role: HandshakeRole, h: Uint8Array, proof: Uint8Array) =>
        this.#secret.membership.verify(role, h, proof),
    };
  }

  /** The mDNS tag of `instanceId` (our session key) in this group. */
  tagFor(instanceId: Uint8Array): string {
    return groupTag(this.#secret, instanceId);
  }

  /** Whether a discovered instance announced our group's tag. */
  recognises(tag: string | undefined, instanceId: Uint8Array): boolean {
    return tag !== undefined && matchesGroup(tag, instanceId, this.#secret);
  }

  /** Whether a join code is active now (announced as `j=1`). */
  get acceptsJoins(): boolean {
    return !this.isOpen && this.codes.status().state === "active";
  }

  /** Runs `fn` whenever the secret or the join state changes. */
  onChange(fn: () => void): () => void {
    this.#changed.add(fn);
    return () => this.#changed.delete(fn);
  }

  /** Issues a join code (replacing any earlier one). */
  invite(): { code: string; expiresAt: number } {
    if (this.isOpen) {
      throw new RangeError(
        "An open folder has no group to join: any open instance syncs with it",
      );
    }
    const { code, expiresAt } = this.codes.issue();
    this.#notify();
    return { code: code.toString(), expiresAt };
  }

  /** The join code was used or given up: announce that joins are closed. */
  joinsChanged(): void {
    this.#notify();
  }

  /**
   * Removes the member whose device fingerprint is `fp`: a new secret
   * replaces the group's (stored at once) and the device is marked removed.
   * Returns the new secret and the removed device's key, for the caller to
   * hand to the connected members.
   * @throws {RangeError} for an unknown fingerprint, our own, or open mode.
   */
  async remove(
    fp: string,
  ): Promise<{ secret: GroupSecret; device: Uint8Array; name: string }> {
    if (this.isOpen) {
      throw new RangeError("An open folder has no members to remove");
    }
    const wanted = normaliseFingerprint(fp);
    if (wanted === normaliseFingerprint(this.device.fingerprint)) {
      throw new RangeError("Cannot remove this device itself");
    }
    const member = this.members.list().find((m) =>
      normaliseFingerprint(m.fingerprint) === wanted
    );
    if (member === undefined) {
      throw new RangeError(
        `No member with fingerprint ${fp}; see \`dsync members\``,
      );
    }
    const secret = GroupSecret.generate();
    await this.adopt(secret);
    const device = parsePeerIdHex(member.device);
    await this.members.markRemoved(member.device, this.#now());
    return { secret, device, name: member.name };
  }

  /** Stores and proves `secret` from now on (a rotation). */
  async adopt(secret: GroupSecret): Promise<void> {
    if (this.isOpen) return;
    await secret.save(this.folder);
    this.#secret = secret;
    this.codes.revoke();
    this.#notify();
  }

  /**
   * A peer sent the group's new secret after removing `removed`: adopted
   * unless it is ours already; the removed device is marked.
   */
  async rekeyed(secret: Uint8Array, removed: Uint8Array): Promise<boolean> {
    if (this.isOpen) return false;
    // Sent to the removed device itself only by a faulty peer: ignored.
    if (constantTimeEqual(removed, this.device.publicKey)) return false;
    const next = GroupSecret.fromBytes(secret);
    await this.members.markRemoved(peerIdHex(removed), this.#now());
    if (next.equals(this.#secret)) return false;
    await this.adopt(next);
    log.info(
      "The group's key was changed after {device} was removed; this device uses the new one",
      { device: fingerprint(removed) },
    );
    return true;
  }

  #notify(): void {
    for (const fn of this.#changed) {
      try {
        fn();
      } catch (error) {
        log.error("Group change handler failed: {error}", { error });
      }
    }
  }
}

function normaliseFingerprint(fp: string): string {
  return fp.toUpperCase().replace(/[^A-Z0-9]/g, "");
}
