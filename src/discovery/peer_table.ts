/**
 * The bounded table of dsync peers seen on the LAN, with TTL expiry.
 * Anyone on the LAN can announce: 300 fake ids with a TTL of 4,500 s used
 * to fill the 256 entries for 75 minutes, so that a real peer was never
 * found, and a spoofed goodbye kept two real peers apart. So the table
 * honours TTLs of at most {@linkcode MAX_ENTRY_TTL} s, keeps at most
 * {@linkcode DEFAULT_MAX_UNVERIFIED_PER_SOURCE} unverified entries per
 * source address, makes room for a newcomer by dropping an unverified entry
 * of the busiest source, never drops a verified one (a tag that checks, or
 * a completed handshake), honours a goodbye only from the address that
 * announced the entry, and forgets entries that fail to connect (`fail()`)
 * for {@linkcode DUD_MS} instead of waiting out their TTL.
 * Time is injected so tests control it.
 * @module
 */
import { peerIdHex } from "../identity/mod.ts";
import type { DiscoveredService } from "./service_records.ts";

/** Default cap on the number of peers kept. */
export const DEFAULT_MAX_PEERS = 256;
/** Unverified entries one source address may hold. */
export const DEFAULT_MAX_UNVERIFIED_PER_SOURCE = 8;
/** Longest TTL honoured (s): real peers answer our queries well within it. */
export const MAX_ENTRY_TTL = 240;
/** How long an id that failed to connect is not taken again (ms). */
export const DUD_MS = 10 * 60_000;
/** Ids remembered as failed, at most. */
const MAX_DUDS = 4096;

/** A peer found on the LAN, as reported to listeners. */
export interface DiscoveredPeer {
  /** Ed25519 public key, 32 bytes. */
  id: Uint8Array;
  name: string;
  addresses: string[];
  port: number;
  /** Its `g=` group tag, if any. */
  tag: string | undefined;
  /** It accepts join requests now. */
  joinable: boolean;
}

/** What `observe()` did with a service. */
export type Observation =
  | { kind: "new" | "updated"; peer: DiscoveredPeer }
  | { kind: "refreshed" }
  | { kind: "rejected"; reason: string };

interface Entry {
  peer: DiscoveredPeer;
  instance: string;
  expiresAt: number;
  /** Address the announcement came from ("" when unknown). */
  source: string;
  verified: boolean;
}

/** Options for {@link PeerTable}. */
export interface PeerTableOptions {
  maxPeers?: number;
  maxUnverifiedPerSource?: number;
  now?: () => number;
}

/** Where a sighting came from, and whether it proved anything. */
export interface Sighting {
  /** Source address of the packet. */
  readonly source?: string | undefined;
  /** Its group tag checks. */
  readonly verified?: boolean;
}

/**
 * Peers keyed by id. Verified entries are never evicted by a flood;
 * entries leave on goodbye (from their own source), TTL expiry, or failure.
 */
export class PeerTable {
  readonly #entries = new Map<string, Entry>();
  readonly #duds = new Map<string, number>();
  readonly #maxPeers: number;
  readonly #maxPerSource: number;
  readonly #now: () => number;

  constructor(opts: PeerTableOptions = {}) {
    this.#maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS;
    this.#maxPerSource = opts.maxUnverifiedPerSource ??
      DEFAULT_MAX_UNVERIFIED_PER_SOURCE;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Record a sighting; a changed address, port or name is an update. */
  observe(s: DiscoveredService, sighting: Sighting = {}): Observation {
    const key = peerIdHex(s.id);
    const now = this.#now();
    const expiresAt = now + Math.min(s.ttl, MAX_ENTRY_TTL) * 1000;
    const source = sighting.source ?? "";
    const verified = sighting.verified ?? false;
    const old = this.#entries.get(key);
    const peer: DiscoveredPeer = {
      id: s.id,
      name: s.name,
      addresses: [...s.addresses],
      port: s.port,
      tag: s.tag,
      joinable: s.joinable,
    };
    if (old === undefined) {
      const dudUntil = this.#duds.get(key);
      if (dudUntil !== undefined) {
        if (dudUntil > now) {
          return { kind: "rejected", reason: "Failed to connect recently" };
        }
        this.#duds.delete(key);
      }
      const room = this.#room(source, verified);
      if (room !== undefined) return { kind: "rejected", reason: room };
      this.#entries.set(key, {
        peer,
        instance: s.instance,
        expiresAt,
        source,
        verified,
      });
      return { kind: "new", peer };
    }
    // Someone else re-announcing a verified peer does not move it.
    if (old.verified && !verified && source !== old.source) {
      return { kind: "rejected", reason: "Verified entry from another source" };
    }
    const same = old.peer.name === peer.name && old.peer.port === peer.port &&
      old.peer.tag === peer.tag && old.peer.joinable === peer.joinable &&
      sameList(old.peer.addresses, peer.addresses);
    if (same) {
      old.expiresAt = expiresAt;
      old.instance = s.instance;
      old.source = source;
      old.verified ||= verified;
      return { kind: "refreshed" };
    }
    this.#entries.set(key, {
      peer,
      instance: s.instance,
      expiresAt,
      source,
      verified: old.verified || verified,
    });
    return { kind: "updated", peer };
  }

  /** Why there is no room for a new entry from `source`, after making some if fair. */
  #room(source: string, verified: boolean): string | undefined {
    const unverified = new Map<string, number>();
    for (const e of this.#entries.values()) {
      if (!e.verified) {
        unverified.set(e.source, (unverified.get(e.source) ?? 0) + 1);
      }
    }
    const mine = unverified.get(source) ?? 0;
    if (!verified && mine >= this.#maxPerSource) {
      return `Too many unverified peers from ${
        source || "one source"
      } (${this.#maxPerSource})`;
    }
    if (this.#entries.size < this.#maxPeers) return undefined;
    let busiest: string | undefined;
    let most = 0;
    for (const [src, n] of unverified) {
      if (n > most) [busiest, most] = [src, n];
    }
    if (busiest === undefined || (!verified && most <= mine + 1)) {
      return `Peer table full (${this.#maxPeers} entries)`;
    }
    let victim: [string, Entry] | undefined;
    for (const entry of this.#entries) {
      const e = entry[1];
      if (e.verified || e.source !== busiest) continue;
      if (victim === undefined || e.expiresAt < victim[1].expiresAt) {
        victim = entry;
      }
    }
    this.#entries.delete(victim![0]);
    return undefined;
  }

  /** Marks the peer `id` verified (a handshake with it succeeded). */
  verify(id: Uint8Array): void {
    const e = this.#entries.get(peerIdHex(id));
    if (e !== undefined) e.verified = true;
  }

  /**
   * Drops a peer that failed to connect, so that its next announcement is
   * new again; an unverified one is refused for {@linkcode DUD_MS}. Returns
   * it, if it was there.
   */
  fail(id: Uint8Array): DiscoveredPeer | undefined {
    const key = peerIdHex(id);
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (e.verified) return e.peer;
    if (this.#duds.size >= MAX_DUDS) {
      this.#duds.delete(this.#duds.keys().next().value!);
    }
    this.#duds.set(key, this.#now() + DUD_MS);
    return e.peer;
  }

  /**
   * Remove the peers announced under `instance` (a goodbye), when it comes
   * from the address that announced them (any, when `source` is unknown).
   */
  goodbye(instance: string, source?: string): DiscoveredPeer[] {
    const gone: DiscoveredPeer[] = [];
    for (const [key, e] of this.#entries) {
      if (
        e.instance === instance &&
        (source === undefined || e.source === "" || e.source === source)
      ) {
        this.#entries.delete(key);
        gone.push(e.peer);
      }
    }
    return gone;
  }

  /** Remove and return peers whose TTL has run out. */
  expire(): DiscoveredPeer[] {
    const now = this.#now();
    const gone: DiscoveredPeer[] = [];
    for (const [key, e] of this.#entries) {
      if (e.expiresAt <= now) {
        this.#entries.delete(key);
        gone.push(e.peer);
      }
    }
    return gone;
  }

  /** Milliseconds until the next expiry, or undefined if empty. */
  nextExpiryMs(): number | undefined {
    let min: number | undefined;
    for (const e of this.#entries.values()) {
      if (min === undefined || e.expiresAt < min) min = e.expiresAt;
    }
    return min === undefined ? undefined : Math.max(0, min - this.#now());
  }

  /** All current peers. */
  peers(): DiscoveredPeer[] {
    return [...this.#entries.values()].map((e) => e.peer);
  }
}

function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}
