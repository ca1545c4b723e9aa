/**
 * DNS-SD over mDNS for dsync: announce ourselves, browse for others and
 * report peers found and lost. The I/O edge over `multicast-dns`; every
 * error is logged, none escapes an event handler.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { peerIdHex, samePeerId } from "../identity/mod.ts";
import { browseDelayMs } from "./browse_schedule.ts";
import {
  type DnsMessage,
  type MdnsSocket,
  type MdnsSocketOptions,
  openMdnsSocket,
  type RemoteInfo,
} from "./mdns_socket.ts";
import { claimOf, renamedLabel, winsTie } from "./name_conflict.ts";
import { InterfaceSenders, type Outgoing } from "./interface_senders.ts";
import { type DiscoveredPeer, PeerTable } from "./peer_table.ts";
import {
  asksForService,
  buildServiceRecords,
  instanceName,
  MAX_NAME_LENGTH,
  MAX_RECORDS,
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
/** Probes sent before claiming a name, and their spacing (RFC 6762 §8.1). */
const PROBE_COUNT = 3;
const PROBE_INTERVAL_MS = 250;
/** Answers to a probe for our name may come this soon (RFC 6762 §6). */
const MIN_DEFEND_INTERVAL_MS = 250;
/** After this many renames, probe more slowly (RFC 6762 §8.1: 15 in 10 s). */
const MAX_FAST_RENAMES = 10;
const SLOW_PROBE_DELAY_MS = 5_000;
/** TTL of answers to legacy unicast queries (RFC 6762 §6.7). */
const LEGACY_UNICAST_TTL = 10;
/** The mDNS port; queries from any other port are legacy unicast. */
const MDNS_PORT = 5353;
/** How often interfaces are checked for new or lost addresses. */
const INTERFACE_CHECK_MS = 5_000;

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
  /** The TXT extras to announce now (group tag, join flag); read at each announcement. */
  announcement?: () => { tag?: string; joinable?: boolean };
  /** True when a sighting proves itself (e.g. its group tag checks): such entries are kept over others. */
  verify?: (peer: { id: Uint8Array; tag: string | undefined }) => boolean;
  /** Opens a socket (default: the real mDNS socket); for tests. */
  openSocket?: (opts: MdnsSocketOptions) => MdnsSocket;
}

/** Why a peer was lost: it said goodbye, or its records expired. */
export type LostReason = "goodbye" | "expired";

type PeerListener = (peer: DiscoveredPeer) => void;
type LostListener = (peer: DiscoveredPeer, reason: LostReason) => void;

/** Announces this node on the LAN and reports other dsync nodes. */
export class Discovery {
  readonly #opts: DiscoveryOptions;
  readonly #now: () => number;
  readonly #table: PeerTable;
  readonly #listeners = {
    peer: [] as PeerListener[],
    lost: [] as LostListener[],
  };
  readonly #ownIdHex: string;
  #label: string;
  /** True until our name has survived its probes. */
  #probing = true;
  /** Bumped on each rename, so that stale probe timers do nothing. */
  #probeRound = 0;
  #renames = 0;
  /** Receives on every interface; sends when there are no senders. */
  #socket: MdnsSocket | undefined;
  /** Send on each interface; see {@link InterfaceSenders}. */
  readonly #senders: InterfaceSenders;
  #interfaceTimer: ReturnType<typeof setInterval> | undefined;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #expiryTimer: ReturnType<typeof setInterval> | undefined;
  #queryIndex = 0;
  #lastAnswerAt = -Infinity;
  #answerPending = false;
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
    this.#ownIdHex = peerIdHex(opts.peerId);
    this.#label = toLabel(opts.name);
    this.#now = opts.now ?? Date.now;
    this.#senders = new InterfaceSenders((o) => this.#open(o));
    this.#table = new PeerTable({
      now: this.#now,
      ...(opts.maxPeers !== undefined ? { maxPeers: opts.maxPeers } : {}),
    });
  }

  /** Listen for peers found or updated. */
  on(event: "peer", fn: PeerListener): void;
  /** Listen for peers lost (goodbye or TTL expiry). */
  on(event: "lost", fn: LostListener): void;
  on(event: "peer" | "lost", fn: PeerListener | LostListener): void {
    if (event === "peer") this.#listeners.peer.push(fn as PeerListener);
    else this.#listeners.lost.push(fn as LostListener);
  }

  /** The instance label in use (differs from the name after a clash). */
  get name(): string {
    return this.#label;
  }

  /** True once the name is claimed and announced. */
  get announced(): boolean {
    return !this.#probing && this.#socket !== undefined;
  }

  /** Open the socket, announce, and start browsing. */
  start(): void {
    if (this.#socket !== undefined || this.#closed) return;
    const socket = this.#open(
      this.#opts.multicastInterface !== undefined
        ? { interface: this.#opts.multicastInterface }
        : {},
    );
    this.#socket = socket;
    socket.on("error", (err) => log.warn("mDNS socket error: {err}", { err }));
    socket.on("warning", (err) => log.debug("mDNS warning: {err}", { err }));
    socket.on(
      "response",
      (msg, rinfo) => this.#guard(() => this.#onResponse(msg, rinfo)),
    );
    socket.on(
      "query",
      (msg, rinfo) => this.#guard(() => this.#onQuery(msg, rinfo)),
    );
    socket.on("ready", () =>
      this.#guard(() => {
        // RFC 6762 §8.1: wait 0-250 ms, then probe for our name.
        this.#later(Math.random() * PROBE_INTERVAL_MS, () => this.#probe(0));
        this.#query();
      }));
    this.#expiryTimer = setInterval(
      () => this.#guard(() => this.#expire()),
      EXPIRY_CHECK_MS,
    );
    if (this.#opts.multicastInterface === undefined) {
      this.#syncSenders();
      this.#interfaceTimer = setInterval(
        () => this.#guard(() => this.#syncSenders()),
        INTERFACE_CHECK_MS,
      );
    }
  }

  #open(opts: MdnsSocketOptions): MdnsSocket {
    return this.#opts.openSocket?.(opts) ?? openMdnsSocket(opts);
  }

  /** A new or lost address is announced at once (RFC 6762 §8.3, §10.2). */
  #syncSenders(): void {
    if (this.#closed) return;
    if (this.#senders.sync(this.#ipv4Addresses()) && this.announced) {
      log.debug("Network addresses changed; announcing again");
      this.#announce();
      this.#later(1_000, () => this.#announce());
    }
  }

  /** Send to the multicast group on every interface; `cb` after all. */
  #multicast(
    kind: "query" | "respond",
    msg: Outgoing,
    cb?: (err?: unknown) => void,
  ): void {
    this.#senders.send(kind, msg, this.#socket, (err) => {
      // A failed send may mean an address went away: look again now.
      if (err) this.#guard(() => this.#syncSenders());
      cb?.(err);
    });
  }

  /** Peers currently known. */
  peers(): DiscoveredPeer[] {
    return this.#table.peers();
  }

  /** The peer `id` completed a handshake: its entry is kept over unverified ones. */
  markVerified(id: Uint8Array): void {
    this.#table.verify(id);
  }

  /**
   * The unverified peer `id` could not be connected to: it leaves the
   * table and is not taken again for a while (see `PeerTable.fail`).
   */
  markFailed(id: Uint8Array): DiscoveredPeer | undefined {
    return this.#table.fail(id);
  }

  /** Send a goodbye (TTL 0) and close the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    clearInterval(this.#expiryTimer);
    clearInterval(this.#interfaceTimer);
    const socket = this.#socket;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
      this.#multicast(
        "respond",
        (iface) => ({ answers: buildServiceRecords(this.#self(iface), 0) }),
        (err) => {
          if (err) log.warn("Cannot send mDNS goodbye: {err}", { err });
          clearTimeout(timer);
          resolve();
        },
      );
    });
    this.#socket = undefined;
    await Promise.all([
      this.#senders.close(),
      new Promise<void>((resolve) => {
        try {
          socket.destroy(() => resolve());
        } catch (err) {
          log.warn("Cannot close mDNS socket: {err}", { err });
          resolve();
        }
      }),
    ]);
  }

  #ipv4Addresses(): string[] {
    const out: string[] = [];
    try {
      for (const i of (this.#opts.interfaces ?? Deno.networkInterfaces)()) {
        if (
          i.family === "IPv4" && !i.address.startsWith("127.") &&
          !out.includes(i.address)
        ) out.push(i.address);
      }
    } catch (err) {
      log.warn("Cannot list network interfaces: {err}", { err });
    }
    return out;
  }

  /** Our records; the addresses of interface `first` come first. */
  #self(first?: string): ServiceAnnouncement {
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
    if (first !== undefined && ipv4.includes(first)) {
      ipv4.splice(ipv4.indexOf(first), 1);
      ipv4.unshift(first);
    }
    return {
      name: this.#label,
      host: this.#opts.host ?? safeHostname(),
      port: this.#opts.port,
      peerId: this.#opts.peerId,
      ipv4: ipv4.slice(0, 16),
      ipv6: ipv6.slice(0, 16),
      ...this.#opts.announcement?.(),
    };
  }

  /** Announces again at once (after what `announcement` returns changed). */
  refresh(): void {
    if (this.#closed || this.#socket === undefined || this.#probing) return;
    this.#announce();
  }

  /** Probe number `n` of round `round`; after the last, claim the name. */
  #probe(n: number, round = this.#probeRound): void {
    if (round !== this.#probeRound || this.#socket === undefined) return;
    if (n < PROBE_COUNT) {
      const records = buildServiceRecords(this.#self());
      const instance = instanceName(this.#label);
      this.#multicast(
        "query",
        {
          questions: [{ name: instance, type: "ANY" }],
          authorities: records.filter((r) => r.name === instance),
        },
        (err) => {
          if (err) log.warn("Cannot send mDNS probe: {err}", { err });
        },
      );
      this.#later(PROBE_INTERVAL_MS, () => this.#probe(n + 1, round));
      return;
    }
    this.#probing = false;
    this.#announce();
    // RFC 6762 §8.3: announce at least twice, one second apart.
    this.#later(1_000, () => {
      if (round === this.#probeRound) this.#announce();
    });
  }

  /** Someone else holds our name: take the next one and probe again. */
  #rename(delayMs: number): void {
    const old = this.#label;
    if (!this.#probing) {
      // Give the old name up before claiming another.
      this.#multicast("respond", {
        answers: buildServiceRecords(this.#self(), 0),
      });
    }
    this.#label = renamedLabel(old);
    this.#probing = true;
    this.#renames++;
    const round = ++this.#probeRound;
    log.info("mDNS name {old} is taken on this network; trying {name}", {
      old,
      name: this.#label,
    });
    const delay = this.#renames > MAX_FAST_RENAMES
      ? Math.max(delayMs, SLOW_PROBE_DELAY_MS)
      : delayMs;
    this.#later(delay, () => this.#probe(0, round));
  }

  #announce(): void {
    this.#lastAnswerAt = this.#now();
    this.#multicast("respond", (iface) => ({
      answers: buildServiceRecords(this.#self(iface)),
    }), (
      err,
    ) => {
      if (err) log.warn("Cannot send mDNS announcement: {err}", { err });
    });
  }

  #query(): void {
    if (this.#socket === undefined) return;
    this.#multicast(
      "query",
      { questions: [{ name: SERVICE_TYPE, type: "PTR" }] },
      (err) => {
        if (err) log.warn("Cannot send mDNS query: {err}", { err });
      },
    );
    this.#later(browseDelayMs(this.#queryIndex++), () => this.#query());
  }

  #onQuery(msg: unknown, rinfo?: RemoteInfo): void {
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as Record<string, unknown>;
    const instance = instanceName(this.#label);
    const claim = claimOf([m.authorities], instance, this.#ownIdHex);
    if (claim.kind === "other") {
      // Another host probes for our name (RFC 6762 §8.2 and §9).
      if (this.#probing) {
        if (!winsTie(this.#ownIdHex, claim.id)) this.#rename(1_000);
      } else {
        this.#answer(MIN_DEFEND_INTERVAL_MS);
      }
      return;
    }
    if (this.#probing) return;
    const host = this.#opts.host ?? safeHostname();
    const names = [instance, `${toLabel(host)}.local`];
    if (!asksForService(msg, names)) return;
    if (rinfo !== undefined && rinfo.port !== MDNS_PORT) {
      this.#answerLegacy(m, rinfo);
      return;
    }
    this.#answer(MIN_ANSWER_INTERVAL_MS);
  }

  /**
   * Multicast our records, at most once per `minIntervalMs`: a request
   * that comes sooner is answered when the interval is over.
   */
  #answer(minIntervalMs: number): void {
    const now = this.#now();
    const wait = this.#lastAnswerAt + minIntervalMs - now;
    if (wait > 0) {
      if (!this.#answerPending) {
        this.#answerPending = true;
        this.#later(wait, () => {
          this.#answerPending = false;
          if (!this.#probing) this.#answer(0);
        });
      }
      return;
    }
    this.#lastAnswerAt = now;
    this.#multicast("respond", (iface) => ({
      answers: buildServiceRecords(this.#self(iface)),
    }), (err) => {
      if (err) log.warn("Cannot answer mDNS query: {err}", { err });
    });
  }

  /**
   * A one-shot resolver (e.g. `dig -p 5353 @224.0.0.251`) asks from its own
   * port: answer it by unicast, echoing id and questions, with short TTLs
   * and no cache-flush bit (RFC 6762 §6.7).
   */
  #answerLegacy(m: Record<string, unknown>, rinfo: RemoteInfo): void {
    const questions: { name: string; type: string }[] = [];
    for (const q of Array.isArray(m.questions) ? m.questions : []) {
      if (questions.length >= MAX_RECORDS) break;
      if (
        typeof q === "object" && q !== null && typeof q.name === "string" &&
        q.name.length <= MAX_NAME_LENGTH && typeof q.type === "string"
      ) questions.push({ name: q.name, type: q.type });
    }
    const answers = buildServiceRecords(this.#self(), LEGACY_UNICAST_TTL)
      .map(({ flush: _flush, ...r }) => r);
    const reply: DnsMessage = {
      id: typeof m.id === "number" ? m.id : 0,
      questions,
      answers,
    };
    this.#socket?.respond(
      reply,
      { address: rinfo.address, port: rinfo.port },
      (err) => {
        if (err) log.warn("Cannot answer legacy mDNS query: {err}", { err });
      },
    );
  }

  #onResponse(msg: unknown, rinfo?: RemoteInfo): void {
    const instance = instanceName(this.#label);
    if (typeof msg === "object" && msg !== null) {
      const m = msg as Record<string, unknown>;
      const claim = claimOf(
        [m.answers, m.additionals],
        instance,
        this.#ownIdHex,
      );
      if (claim.kind === "other") {
        if (this.#probing) this.#rename(0);
        else if (winsTie(this.#ownIdHex, claim.id)) {
          this.#answer(MIN_DEFEND_INTERVAL_MS);
        } else this.#rename(0);
      }
    }
    const ownInstance = instance.toLowerCase();
    for (const r of parseServiceResponse(msg)) {
      if (r.kind === "problem") {
        log.debug("Dropped mDNS response: {reason}", { reason: r.reason });
      } else if (r.kind === "goodbye") {
        if (r.instance === ownInstance) continue;
        for (const p of this.#table.goodbye(r.instance, rinfo?.address)) {
          this.#emitLost(p, "goodbye");
        }
      } else if (!samePeerId(r.service.id, this.#opts.peerId)) {
        const o = this.#table.observe(r.service, {
          source: rinfo?.address,
          verified: this.#opts.verify?.({
            id: r.service.id,
            tag: r.service.tag,
          }) ?? false,
        });
        if (o.kind === "new" || o.kind === "updated") {
          for (const fn of this.#listeners.peer) this.#guard(() => fn(o.peer));
        } else if (o.kind === "rejected") log.debug(o.reason);
      }
    }
  }

  #expire(): void {
    for (const p of this.#table.expire()) this.#emitLost(p, "expired");
  }

  #emitLost(peer: DiscoveredPeer, reason: LostReason): void {
    for (const fn of this.#listeners.lost) this.#guard(() => fn(peer, reason));
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
