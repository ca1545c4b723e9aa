/**
 * The devices of the folder's group that this device has seen: name,
 * device fingerprint, last seen, and whether they were removed. Kept in
 * `.dsync/members.json` (owner-only) so that `dsync members` lists them
 * across restarts and `dsync remove` can name one by fingerprint. Read from
 * disk, so every field is checked; a damaged file is set aside, not fatal.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { MEMBERS_FILE, STATE_DIR, toOsPath } from "../index/mod.ts";
import { fingerprint, parsePeerIdHex } from "../identity/mod.ts";

const log = getLogger(["dsync", "node"]);

/** Most devices remembered (the least recently seen go first). */
const MAX_MEMBERS = 1000;

/** One device of the group. */
export interface Member {
  /** Device public key, 64 hex digits. */
  readonly device: string;
  readonly fingerprint: string;
  /** The name it last said hello with. */
  readonly name: string;
  /** Epoch ms it was last connected. */
  readonly lastSeen: number;
  /** Epoch ms it was removed from the group, if it was. */
  readonly removedAt?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseMember(value: unknown): Member | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.device !== "string" || !HEX64.test(v.device)) return undefined;
  if (typeof v.name !== "string" || v.name.length > 200) return undefined;
  if (typeof v.lastSeen !== "number" || !Number.isFinite(v.lastSeen)) {
    return undefined;
  }
  const removedAt = typeof v.removedAt === "number" &&
      Number.isFinite(v.removedAt)
    ? v.removedAt
    : undefined;
  return {
    device: v.device,
    fingerprint: fingerprint(parsePeerIdHex(v.device)),
    name: v.name,
    lastSeen: v.lastSeen,
    ...(removedAt === undefined ? {} : { removedAt }),
  };
}

/** The member list of one folder. */
export class MemberBook {
  readonly #path: string;
  readonly #members = new Map<string, Member>();
  #saving: Promise<void> = Promise.resolve();

  private constructor(path: string) {
    this.#path = path;
  }

  /** Loads `<folder>/.dsync/members.json` (empty when there is none). */
  static async load(folder: string): Promise<MemberBook> {
    const path = toOsPath(toOsPath(folder, STATE_DIR), MEMBERS_FILE);
    const book = new MemberBook(path);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return book;
      throw error;
    }
    try {
      const data = JSON.parse(text) as unknown;
      const list = Array.isArray((data as { members?: unknown }).members)
        ? (data as { members: unknown[] }).members
        : [];
      for (const item of list.slice(0, MAX_MEMBERS)) {
        const member = parseMember(item);
        if (member !== undefined) book.#members.set(member.device, member);
      }
    } catch {
      log.warn("{path} is damaged; starting a new member list", { path });
    }
    return book;
  }

  /** Every device seen, most recently seen first. */
  list(): Member[] {
    return [...this.#members.values()].sort((a, b) => b.lastSeen - a.lastSeen);
  }

  /** True when `device` (hex) was removed from the group. */
  isRemoved(device: string): boolean {
    return this.#members.get(device)?.removedAt !== undefined;
  }

  /** Records that `device` (hex) is connected now under `name`. */
  seen(device: string, name: string, now: number): Promise<void> {
    const old = this.#members.get(device);
    if (old?.removedAt !== undefined) return Promise.resolve();
    this.#members.set(device, {
      device,
      fingerprint: fingerprint(parsePeerIdHex(device)),
      name,
      lastSeen: now,
    });
    this.#trim();
    return this.#save();
  }

  /** Marks `device` (hex) removed from the group. */
  markRemoved(device: string, now: number): Promise<void> {
    const old = this.#members.get(device);
    this.#members.set(device, {
      device,
      fingerprint: fingerprint(parsePeerIdHex(device)),
      name: old?.name ?? "(unknown)",
      lastSeen: old?.lastSeen ?? 0,
      removedAt: now,
    });
    this.#trim();
    return this.#save();
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.#saving;
  }

  #trim(): void {
    if (this.#members.size <= MAX_MEMBERS) return;
    const oldest = this.list().at(-1);
    if (oldest !== undefined) this.#members.delete(oldest.device);
  }

  #save(): Promise<void> {
    const text = JSON.stringify({ members: this.list() }, null, 2) + "\n";
    this.#saving = this.#saving.then(async () => {
      const temp = `${this.#path}.tmp`;
      try {
        await Deno.writeTextFile(temp, text, { mode: 0o600 });
        await Deno.rename(temp, this.#path);
      } catch (error) {
        log.warn("Cannot save the member list: {error}", {
          error: String(error),
        });
      }
    });
    return this.#saving;
  }
}
