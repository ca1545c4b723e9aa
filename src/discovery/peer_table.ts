/**
 * The bounded table of dsync peers seen on the LAN, with TTL expiry.
 * Time is injected so tests control it.
 * @module
 */
import { peerIdHex } from "../identity/mod.ts";
import type { DiscoveredService } from "./service_records.ts";

/** Default cap on the number of peers kept. */
export const DEFAULT_MAX_PEERS = 256;

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
}

/** Options for {@link PeerTable}. */
export interface PeerTableOptions {
  maxPeers?: number;
  now?: () => number;
}

/**
 * Peers keyed by id. When full, new ids are refused (known peers are never
 * evicted by a flood); entries leave on goodbye or TTL expiry.
 */
export class PeerTable {
  readonly #entries = new Map<string, Entry>();
  readonly #maxPeers: number;
  readonly #now: () => number;

  constructor(opts: PeerTableOptions = {}) {
    this.#maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Record a sighting; a changed address, port or name is an update. */
  observe(s: DiscoveredService): Observation {
    const key = peerIdHex(s.id);
    const expiresAt = this.#now() + s.ttl * 1000;
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
      if (this.#entries.size >= this.#maxPeers) {
        return {
          kind: "rejected",
          reason: `Peer table full (${this.#maxPeers} entries)`,
        };
      }
      this.#entries.set(key, { peer, instance: s.instance, expiresAt });
      return { kind: "new", peer };
    }
    const same = old.peer.name === peer.name && old.peer.port === peer.port &&
      old.peer.tag === peer.tag && old.peer.joinable === peer.joinable &&
      sameList(old.peer.addresses, peer.addresses);
    if (same) {
      old.expiresAt = expiresAt;
      old.instance = s.instance;
      return { kind: "refreshed" };
    }
    this.#entries.set(key, { peer, instance: s.instance, expiresAt });
    return { kind: "updated", peer };
  }

  /** Remove the peers announced under `instance` (a goodbye). */
  goodbye(instance: string): DiscoveredPeer[] {
    const gone: DiscoveredPeer[] = [];
    for (const [key, e] of this.#entries) {
      if (e.instance === instance) {
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
