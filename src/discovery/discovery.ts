/**
 * DNS-SD over mDNS for dsync: announce ourselves, browse for others and
 * report peers found and lost. The I/O edge over `multicast-dns`; every
 * error is logged, none escapes an event handler.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { samePeerId } from "../identity/mod.ts";
import { browseDelayMs } from "./browse_schedule.ts";
import { type MdnsSocket, openMdnsSocket } from "./mdns_socket.ts";
import { type DiscoveredPeer, PeerTable } from "./peer_table.ts";
import {
  asksForService,
  buildServiceRecords,
  instanceName,
  parseServiceResponse,
  SERVICE_TYPE,
  type ServiceAnnouncement,
  toLabel,
} from "./service_records.ts";

const log = getLogger(["dsync", "discovery"]);

/** Answer queries at most this often (RFC 6762 §6). */
const MIN_ANSWER_INTERVAL_MS = 1_000;
/** Longest wait for the goodbye to leave before closing the socket. */
const GOODBYE_TIMEOUT_MS = 1_000;
/** How often TTL expiry is checked. */
const EXPIRY_CHECK_MS = 1_000;

/** Options for {@link Discovery}. */
export interface DiscoveryOptions {
  /** Instance name shown to browsers (one DNS label). */
  name: string;
  /** TCP port dsync listens on. */
  port: number;
  /** Our Ed25519 public key (32 bytes). */
  peerId: Uint8Array;
  /** Host label without ".local" (default: `Deno.hostname()`). */
  host?: string;
  /** Source of local addresses (default: `Deno.networkInterfaces`). */
  interfaces?: () => Deno.NetworkInterfaceInfo[];
  /** IPv4 address of the one interface to use (default: all). */
  multicastInterface?: string;
  now?: () => number;
  maxPeers?: number;
}

type PeerListener = (peer: DiscoveredPeer) => void;

/** Announces this node on the LAN and reports other dsync nodes. */
export class Discovery {
  readonly #opts: DiscoveryOptions;
  readonly #now: () => number;
  readonly #table: PeerTable;
  readonly #listeners = {
    peer: [] as PeerListener[],
    lost: [] as PeerListener[],
  };
  #socket: MdnsSocket | undefined;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #expiryTimer: ReturnType<typeof setInterval> | undefined;
  #queryIndex = 0;
  #lastAnswerAt = -Infinity;
  #closed = false;

  constructor(opts: DiscoveryOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new RangeError(`Cannot announce port ${opts.port}: not 1-65535`);
    }
    if (opts.peerId.length !== 32) {
      throw new RangeError(
        `Cannot announce peer id of ${opts.peerId.length} bytes: expected 32`,
      );
    }
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#table = new PeerTable({
      now: this.#now,
      ...(opts.maxPeers !== undefined ? { maxPeers: opts.maxPeers } : {}),
    });
  }

  /** Listen for peers found or updated, or lost (goodbye or TTL expiry). */
  on(event: "peer" | "lost", fn: PeerListener): void {
    this.#listeners[event].push(fn);
  }

  /** Open the socket, announce, and start browsing. */
  start(): void {
    if (this.#socket !== undefined || this.#closed) return;
    const socket = openMdnsSocket(
      this.#opts.multicastInterface !== undefined
        ? { interface: this.#opts.multicastInterface }
        : {},
    );
    this.#socket = socket;
    socket.on("error", (err) => log.warn("mDNS socket error: {err}", { err }));
    socket.on("warning", (err) => log.debug("mDNS warning: {err}", { err }));
    socket.on("response", (msg) => this.#guard(() => this.#onResponse(msg)));
    socket.on("query", (msg) => this.#guard(() => this.#onQuery(msg)));
    socket.on("ready", () =>
      this.#guard(() => {
        this.#announce();
        // RFC 6762 §8.3: announce at least twice, one second apart.
        this.#later(1_000, () => this.#announce());
        this.#query();
      }));
    this.#expiryTimer = setInterval(
      () => this.#guard(() => this.#expire()),
      EXPIRY_CHECK_MS,
    );
  }

  /** Peers currently known. */
  peers(): DiscoveredPeer[] {
    return this.#table.peers();
  }

  /** Send a goodbye (TTL 0) and close the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    clearInterval(this.#expiryTimer);
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
      try {
        socket.respond(
          { answers: buildServiceRecords(this.#self(), 0) },
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      } catch (err) {
        log.warn("Cannot send mDNS goodbye: {err}", { err });
        clearTimeout(timer);
        resolve();
      }
    });
    await new Promise<void>((resolve) => {
      try {
        socket.destroy(() => resolve());
      } catch (err) {
        log.warn("Cannot close mDNS socket: {err}", { err });
        resolve();
      }
    });
  }

  #self(): ServiceAnnouncement {
    const ipv4: string[] = [];
    const ipv6: string[] = [];
    try {
      const list = (this.#opts.interfaces ?? Deno.networkInterfaces)();
      for (const i of list) {
        if (i.family === "IPv4" && !i.address.startsWith("127.")) {
          if (!ipv4.includes(i.address)) ipv4.push(i.address);
        } else if (
          i.family === "IPv6" && i.address !== "::1" &&
          !i.address.toLowerCase().startsWith("fe80")
        ) {
          if (!ipv6.includes(i.address)) ipv6.push(i.address);
        }
      }
    } catch (err) {
      log.warn("Cannot list network interfaces: {err}", { err });
    }
    return {
      name: this.#opts.name,
      host: this.#opts.host ?? safeHostname(),
      port: this.#opts.port,
      peerId: this.#opts.peerId,
      ipv4: ipv4.slice(0, 16),
      ipv6: ipv6.slice(0, 16),
    };
  }

  #announce(): void {
    this.#lastAnswerAt = this.#now();
    this.#socket?.respond({ answers: buildServiceRecords(this.#self()) }, (
      err,
    ) => {
      if (err) log.warn("Cannot send mDNS announcement: {err}", { err });
    });
  }

  #query(): void {
    if (this.#socket === undefined) return;
    this.#socket.query(
      { questions: [{ name: SERVICE_TYPE, type: "PTR" }] },
      (err) => {
        if (err) log.warn("Cannot send mDNS query: {err}", { err });
      },
    );
    this.#later(browseDelayMs(this.#queryIndex++), () => this.#query());
  }

  #onQuery(msg: unknown): void {
    const host = this.#opts.host ?? safeHostname();
    const names = [instanceName(this.#opts.name), `${toLabel(host)}.local`];
    if (!asksForService(msg, names)) return;
    const now = this.#now();
    if (now - this.#lastAnswerAt < MIN_ANSWER_INTERVAL_MS) return;
    this.#lastAnswerAt = now;
    const records = buildServiceRecords(this.#self());
    this.#socket?.respond({ answers: records }, (err) => {
      if (err) log.warn("Cannot answer mDNS query: {err}", { err });
    });
  }

  #onResponse(msg: unknown): void {
    const ownInstance = instanceName(this.#opts.name).toLowerCase();
    for (const r of parseServiceResponse(msg)) {
      if (r.kind === "problem") {
        log.debug("Dropped mDNS response: {reason}", { reason: r.reason });
      } else if (r.kind === "goodbye") {
        if (r.instance === ownInstance) continue;
        for (const p of this.#table.goodbye(r.instance)) this.#emit("lost", p);
      } else if (!samePeerId(r.service.id, this.#opts.peerId)) {
        const o = this.#table.observe(r.service);
        if (o.kind === "new" || o.kind === "updated") {
          this.#emit("peer", o.peer);
        } else if (o.kind === "rejected") log.debug(o.reason);
      }
    }
  }

  #expire(): void {
    for (const p of this.#table.expire()) this.#emit("lost", p);
  }

  #emit(event: "peer" | "lost", peer: DiscoveredPeer): void {
    for (const fn of this.#listeners[event]) {
      this.#guard(() => fn(peer));
    }
  }

  #later(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#guard(fn);
    }, ms);
    this.#timers.add(t);
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error("Discovery error: {err}", { err });
    }
  }
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "dsync";
  }
}
