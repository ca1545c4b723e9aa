/**
 * The connection pool: at most one channel per peer, whoever dialed. It
 * accepts inbound sessions, keeps dialing known peers with back-off, pings
 * idle channels, drops silent ones, and says goodbye to everyone on close.
 */
import { getLogger } from "@logtape/logtape";
import { type HandshakeIdentity, NotGroupMemberError } from "../crypto/mod.ts";
import { fingerprint, peerIdHex } from "../identity/mod.ts";
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { dial, type DialOptions, formatHostPort } from "./dialer.ts";
import { SelfConnectionError } from "./establish.ts";
import { listen, type Listener, type ListenerLimits } from "./listener.ts";
import type { CloseReason, SecureChannel } from "./secure_channel.ts";
import { chooseConnection, type Initiator } from "./tie_break.ts";

const log = getLogger(["dsync", "net"]);

/**
 * Default of `PoolOptions.keepaliveMs`. Issue #20 asks that a peer whose
 * link was cut be shown as disconnected within 10 s (it took 47.6 s with
 * 15 s / 45 s). A ping and its pong are 27 bytes each on the wire.
 */
export const DEFAULT_KEEPALIVE_MS = 3_000;

/**
 * Default of `PoolOptions.deadAfterMs`: silence for more than two missed
 * keepalives. The check runs every `keepaliveMs / 4`, so a cut link is
 * dropped 8 to 8.75 s after its last frame.
 */
export const DEFAULT_DEAD_AFTER_MS = 8_000;

/**
 * What a pool says when it drops the loser of a tie-break (`#adopt`). The
 * side that hears it waits for the winner (see `REPLACEMENT_GRACE_MS`).
 */
const DUPLICATE = "duplicate connection";

/**
 * How long a channel the peer dropped as a duplicate waits for the connection
 * that won the tie-break before the peer counts as gone. When both sides dial
 * at once, the peer may finish the other handshake and drop ours before that
 * handshake's last message reaches us; without the wait, every simultaneous
 * start showed as a disconnect and a second session.
 */
export const REPLACEMENT_GRACE_MS = 2_000;

/** A peer went silent for longer than the pool's dead-peer timeout. */
export class DeadPeerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeadPeerError";
  }
}

/** `send()` to a peer with no open channel. */
export class PeerNotConnectedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PeerNotConnectedError";
  }
}

/** Why a peer's channel left the pool. */
export type DisconnectReason =
  | CloseReason
  /** Another connection to the same peer won the tie-break. */
  | { kind: "replaced" };

/** Pool events and their payloads. */
export interface PoolEvents {
  "peer-connected": {
    peerId: Uint8Array;
    channel: SecureChannel;
    /** True when this side dialed. */
    outbound: boolean;
  };
  "peer-disconnected": { peerId: Uint8Array; reason: DisconnectReason };
  /**
   * An application message. A listener may return a promise: the pool reads
   * nothing more from that peer until it settles (backpressure).
   */
  "message": { peerId: Uint8Array; message: Uint8Array };
}

type Handler<K extends keyof PoolEvents> = (
  event: PoolEvents[K],
) => void | Promise<void>;

/** Options of a `ConnectionPool`. */
export interface PoolOptions {
  identity: HandshakeIdentity;
  /** Listen for inbound peers; omit for a dial-only pool. */
  listen?: {
    hostname?: string;
    port: number;
    /** Already bound (`bindPort`); else `hostname`:`port` is bound. */
    socket?: Deno.TcpListener;
    limits?: Partial<ListenerLimits>;
    /** Takes channels of devices that ask to join the group (else closed). */
    onJoin?: (channel: SecureChannel, remoteAddr: Deno.NetAddr) => void;
  };
  /** Ping a channel when nothing was sent on it for this long (default 3 s). */
  keepaliveMs?: number;
  /** Drop a channel when nothing was received on it for this long (default 8 s). */
  deadAfterMs?: number;
  /** Connect plus handshake deadline for outbound dials. */
  dialTimeoutMs?: number;
  /** Reconnect schedule for known peers. */
  backoff?: BackoffOptions;
  /** A connection that lived this long resets the reconnect back-off. */
  stableAfterMs?: number;
  /** Cap on one application message, both ways. */
  maxMessageSize?: number;
  /** Replaces `dial()` (tests route dials through proxies). */
  dial?: (options: DialOptions) => Promise<SecureChannel>;
}

/** A peer that dropped our channel as a duplicate, until the winner comes. */
interface Replacing {
  peerId: Uint8Array;
  reason: DisconnectReason;
  timer: ReturnType<typeof setTimeout>;
}

interface ActivePeer {
  channel: SecureChannel;
  initiator: Initiator;
}

interface StaticPeer {
  hostname: string;
  port: number;
  expectedPeerId: Uint8Array | undefined;
  /** Learned on first successful handshake. */
  peerKey: string | undefined;
  /** Already reported as not in the group (said once). */
  refused?: boolean;
  stop: AbortController;
  /** Failed dials in a row (none since the last connection). */
  failures: number;
  options: StaticPeerOptions;
}

/** How `addStaticPeer()` treats failures (e.g. for peers found by mDNS). */
export interface StaticPeerOptions {
  /** Stop after this many failed dials in a row (default: never). */
  readonly maxFailures?: number;
  /**
   * Told of each failed dial; when given, the pool logs failures only at
   * debug level, so the caller can summarise them.
   */
  readonly onFailure?: (error: unknown, failures: number) => void;
  /** Called once when the peer is given up after `maxFailures`. */
  readonly onGiveUp?: () => void;
}

/** The set of live channels to peers. */
export class ConnectionPool {
  readonly #identity: HandshakeIdentity;
  readonly #ownKey: string;
  readonly #keepaliveMs: number;
  readonly #deadAfterMs: number;
  readonly #dialTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #stableAfterMs: number;
  readonly #maxMessageSize: number | undefined;
  readonly #dial: (options: DialOptions) => Promise<SecureChannel>;
  readonly #listener: Listener | undefined;
  readonly #peers = new Map<string, ActivePeer>();
  /** Every channel with a running read loop, active or on its way out. */
  readonly #channels = new Set<SecureChannel>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** Channels whose read loop waits on a message handler (not reading). */
  readonly #handling = new Set<SecureChannel>();
  readonly #disconnectWaiters = new Map<string, Set<() => void>>();
  /** Peers that dropped our channel as a duplicate: the winner is due. */
  readonly #replacing = new Map<string, Replacing>();
  readonly #statics = new Set<StaticPeer>();
  readonly #handlers: { [K in keyof PoolEvents]: Set<Handler<K>> } = {
    "peer-connected": new Set(),
    "peer-disconnected": new Set(),
    "message": new Set(),
  };
  readonly #shutdown = new AbortController();
  readonly #timer: ReturnType<typeof setInterval>;
  #closing: Promise<void> | undefined;

  constructor(options: PoolOptions) {
    this.#identity = options.identity;
    this.#ownKey = peerIdHex(options.identity.publicKey);
    this.#keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.#deadAfterMs = options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
    if (!(this.#keepaliveMs > 0) || !(this.#deadAfterMs > this.#keepaliveMs)) {
      throw new RangeError(
        `Pool needs 0 < keepaliveMs < deadAfterMs, got ${this.#keepaliveMs} and ${this.#deadAfterMs}`,
      );
    }
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#stableAfterMs = options.stableAfterMs ?? 10_000;
    this.#maxMessageSize = options.maxMessageSize;
    this.#dial = options.dial ?? dial;
    if (options.listen) {
      this.#listener = listen({
        port: options.listen.port,
        ...(options.listen.hostname !== undefined &&
          { hostname: options.listen.hostname }),
        ...(options.listen.socket !== undefined &&
          { socket: options.listen.socket }),
        identity: options.identity,
        limits: {
          ...options.listen.limits,
          ...(this.#maxMessageSize !== undefined &&
            { maxMessageSize: this.#maxMessageSize }),
        },
        onSession: (channel) => this.#adopt(channel, "remote"),
        ...(options.listen.onJoin !== undefined &&
          { onJoin: options.listen.onJoin }),
      });
    }
    this.#timer = setInterval(
      () => this.#keepalive(),
      Math.max(10, Math.min(this.#keepaliveMs, this.#deadAfterMs) / 4),
    );
  }

  /** Where the pool listens, if it does. */
  get addr(): Deno.NetAddr | undefined {
    return this.#listener?.addr;
  }

  /** The pool's listener (counters for logs and tests). */
  get listener(): Listener | undefined {
    return this.#listener;
  }

  /** Ids of the peers with an open channel. */
  peers(): Uint8Array[] {
    return [...this.#peers.values()].map((p) => p.channel.peerId);
  }

  /** The open channel to `peerId`, if any. */
  channel(peerId: Uint8Array): SecureChannel | undefined {
    return this.#peers.get(peerIdHex(peerId))?.channel;
  }

  /** Whether we dialed the open channel to `peerId`; undefined if none. */
  isOutbound(peerId: Uint8Array): boolean | undefined {
    const peer = this.#peers.get(peerIdHex(peerId));
    return peer === undefined ? undefined : peer.initiator === "local";
  }

  /** Number of addresses being kept connected by `addStaticPeer()`. */
  get staticPeerCount(): number {
    return this.#statics.size;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof PoolEvents>(type: K, handler: Handler<K>): () => void {
    const set = this.#handlers[type] as Set<Handler<K>>;
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Sends one message to a connected peer; resolves once written.
   * @throws {PeerNotConnectedError} if no channel to it is open.
   */
  send(peerId: Uint8Array, message: Uint8Array): Promise<void> {
    const peer = this.#peers.get(peerIdHex(peerId));
    if (peer === undefined) {
      return Promise.reject(
        new PeerNotConnectedError(
          `Peer ${fingerprint(peerId)} is not connected`,
        ),
      );
    }
    return peer.channel.send(message);
  }

  /** Sends to every connected peer; a failing peer is dropped, not reported. */
  async broadcast(message: Uint8Array): Promise<void> {
    await Promise.allSettled(
      [...this.#peers.values()].map((p) => p.channel.send(message)),
    );
  }

  /**
   * Keeps a connection to `hostname:port`: dials now, and again with
   * back-off whenever the connection is lost. Returns a function that stops
   * it. An address that turns out to be ourselves is dropped for good.
   */
  addStaticPeer(
    hostname: string,
    port: number,
    expectedPeerId?: Uint8Array,
    options: StaticPeerOptions = {},
  ): () => void {
    if (this.#closing) throw new Error("Connection pool is closed");
    const peer: StaticPeer = {
      hostname,
      port,
      expectedPeerId,
      peerKey: expectedPeerId ? peerIdHex(expectedPeerId) : undefined,
      stop: new AbortController(),
      failures: 0,
      options,
    };
    this.#statics.add(peer);
    this.#track(
      this.#redial(peer).finally(() => this.#statics.delete(peer)),
    );
    return () => {
      peer.stop.abort();
      this.#statics.delete(peer);
    };
  }

  /** True while a channel to `peerId` is open. */
  isConnected(peerId: Uint8Array): boolean {
    return this.#peers.has(peerIdHex(peerId));
  }

  /** Says goodbye to every peer, stops dialing and listening. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#shutdown.abort();
    clearInterval(this.#timer);
    for (const peer of this.#statics) peer.stop.abort();
    const listenerClosed = this.#listener?.close();
    await Promise.allSettled(
      [...this.#channels].map((channel) => channel.close("shutting down")),
    );
    await listenerClosed;
    for (const [key, { peerId, reason, timer }] of this.#replacing) {
      clearTimeout(timer);
      this.#gone(key, peerId, reason);
    }
    this.#replacing.clear();
    for (const waiters of this.#disconnectWaiters.values()) {
      for (const wake of waiters) wake();
    }
    // Read loops and dial loops end on their own now; wait for them.
    while (this.#tasks.size > 0) {
      await Promise.allSettled([...this.#tasks]);
    }
  }

  async #redial(peer: StaticPeer): Promise<void> {
    const backoff = new Backoff(this.#backoff);
    const stopped = () =>
      peer.stop.signal.aborted || this.#closing !== undefined;
    const address = formatHostPort(peer.hostname, peer.port);
    while (!stopped()) {
      if (peer.peerKey !== undefined && this.#present(peer.peerKey)) {
        const since = Date.now();
        await this.#waitDisconnected(peer.peerKey, peer.stop.signal);
        if (Date.now() - since >= this.#stableAfterMs) backoff.reset();
        await this.#sleep(backoff.next(), peer.stop.signal);
        continue;
      }
      try {
        const channel = await this.#dial({
          hostname: peer.hostname,
          port: peer.port,
          identity: this.#identity,
          expectedPeerId: peer.expectedPeerId,
          timeoutMs: this.#dialTimeoutMs,
          maxMessageSize: this.#maxMessageSize,
          signal: AbortSignal.any([peer.stop.signal, this.#shutdown.signal]),
        });
        peer.peerKey = peerIdHex(channel.peerId);
        if (stopped()) {
          await channel.close("shutting down");
          return;
        }
        this.#adopt(channel, "local");
        peer.failures = 0;
        // Either way a channel to this peer is now open (ours or the one that
        // won the tie-break); the loop waits for it to end.
        if (!this.#peers.has(peer.peerKey)) {
          await this.#sleep(backoff.next(), peer.stop.signal);
        }
      } catch (error) {
        if (stopped()) return;
        if (error instanceof SelfConnectionError) {
          log.info("Static peer {address} is this node; not dialing it", {
            address,
          });
          return;
        }
        const delay = backoff.next();
        peer.failures++;
        peer.options.onFailure?.(error, peer.failures);
        if (
          peer.options.maxFailures !== undefined &&
          peer.failures >= peer.options.maxFailures
        ) {
          log.debug("Giving up on {address} after {n} failed dials", {
            address,
            n: peer.failures,
          });
          peer.options.onGiveUp?.();
          return;
        }
        if (error instanceof NotGroupMemberError) {
          if (!peer.refused) {
            log.warn(
              "{address} is not in this folder's group (another group or an open instance; if this device was removed from the group, it needs a new join code: run `dsync invite -d DIR` on a member, then `dsync -d DIR --join CODE` here)",
              { address },
            );
          }
          peer.refused = true;
          await this.#sleep(delay, peer.stop.signal);
          continue;
        }
        const failed = {
          address,
          name: error instanceof Error ? error.name : "Error",
          message: error instanceof Error ? error.message : String(error),
          delay,
        };
        const line =
          "Dialing {address} failed ({name}: {message}); retrying in {delay} ms";
        if (peer.options.onFailure === undefined) log.info(line, failed);
        else log.debug(line, failed);
        await this.#sleep(delay, peer.stop.signal);
      }
    }
  }

  /** Takes a fresh channel in, subject to the one-channel-per-peer rule. */
  #adopt(channel: SecureChannel, initiator: Initiator): void {
    if (this.#closing) {
      channel.close("shutting down").catch(() => {});
      return;
    }
    const key = peerIdHex(channel.peerId);
    if (key === this.#ownKey) {
      channel.abort(new SelfConnectionError("Channel to ourselves"));
      return;
    }
    const existing = this.#peers.get(key);
    if (existing !== undefined) {
      const keep = chooseConnection(
        this.#identity.publicKey,
        channel.peerId,
        existing.initiator,
        initiator,
      );
      if (keep === "existing") {
        log.debug("Dropping duplicate connection to {peer}", {
          peer: fingerprint(channel.peerId),
        });
        channel.close(DUPLICATE).catch(() => {});
        return;
      }
      this.#peers.delete(key);
      existing.channel.close(DUPLICATE).catch(() => {});
    }
    const pending = this.#replacing.get(key);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.#replacing.delete(key);
    }
    if (existing !== undefined || pending !== undefined) {
      this.#emit("peer-disconnected", {
        peerId: channel.peerId,
        reason: { kind: "replaced" },
      });
    }
    this.#peers.set(key, { channel, initiator });
    this.#channels.add(channel);
    log.info("Connected to peer {peer} at {addr} ({direction})", {
      peer: fingerprint(channel.peerId),
      addr: channel.remoteAddr,
      direction: initiator === "local" ? "outbound" : "inbound",
    });
    this.#emit("peer-connected", {
      peerId: channel.peerId,
      channel,
      outbound: initiator === "local",
    });
    this.#track(this.#readLoop(key, channel));
  }

  async #readLoop(key: string, channel: SecureChannel): Promise<void> {
    try {
      for (;;) {
        const message = await channel.receive();
        if (message === null) break;
        // A channel that lost a tie-break may still deliver a few messages.
        if (this.#peers.get(key)?.channel !== channel) continue;
        const pending = this.#emit("message", {
          peerId: channel.peerId,
          message,
        });
        if (pending.length > 0) {
          this.#handling.add(channel);
          try {
            await Promise.allSettled(pending);
          } finally {
            this.#handling.delete(channel);
          }
        }
      }
    } catch {
      // The channel logged and recorded the error; closeReason has it.
    } finally {
      this.#channels.delete(channel);
      if (this.#peers.get(key)?.channel === channel) {
        this.#peers.delete(key);
        const reason = channel.closeReason ?? { kind: "eof" };
        if (
          reason.kind === "goodbye" && reason.reason === DUPLICATE &&
          this.#closing === undefined
        ) {
          log.debug("Peer {peer} kept its other connection; waiting for it", {
            peer: fingerprint(channel.peerId),
          });
          const timer = setTimeout(() => {
            this.#replacing.delete(key);
            this.#gone(key, channel.peerId, reason);
          }, REPLACEMENT_GRACE_MS);
          this.#replacing.set(key, { peerId: channel.peerId, reason, timer });
        } else {
          this.#gone(key, channel.peerId, reason);
        }
      }
    }
  }

  /** The peer's last channel ended and no other is on its way. */
  #gone(key: string, peerId: Uint8Array, reason: DisconnectReason): void {
    log.info("Disconnected from peer {peer}: {reason}", {
      peer: fingerprint(peerId),
      reason: describe(reason),
    });
    this.#emit("peer-disconnected", { peerId, reason });
    for (const wake of this.#disconnectWaiters.get(key) ?? []) wake();
    this.#disconnectWaiters.delete(key);
  }

  /** Connected, or waiting for the connection that replaces ours. */
  #present(key: string): boolean {
    return this.#peers.has(key) || this.#replacing.has(key);
  }

  #keepalive(): void {
    const now = Date.now();
    for (const channel of this.#channels) {
      if (!channel.isOpen) continue;
      // While our own handler holds the read loop, silence is not the peer's.
      if (
        now - channel.lastReceivedAt > this.#deadAfterMs &&
        !this.#handling.has(channel)
      ) {
        channel.abort(
          new DeadPeerError(
            `No traffic from peer ${
              fingerprint(channel.peerId)
            } at ${channel.remoteAddr} for ${now - channel.lastReceivedAt} ms`,
          ),
        );
      } else if (now - channel.lastSentAt >= this.#keepaliveMs) {
        channel.ping().catch(() => {});
      }
    }
  }

  #emit<K extends keyof PoolEvents>(
    type: K,
    event: PoolEvents[K],
  ): Promise<void>[] {
    const pending: Promise<void>[] = [];
    for (const handler of this.#handlers[type] as Set<Handler<K>>) {
      try {
        const result = handler(event);
        if (result instanceof Promise) {
          pending.push(result.catch((error) => logHandlerError(type, error)));
        }
      } catch (error) {
        logHandlerError(type, error);
      }
    }
    return pending;
  }

  #waitDisconnected(key: string, signal: AbortSignal): Promise<void> {
    if (!this.#present(key) || signal.aborted || this.#closing) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let waiters = this.#disconnectWaiters.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.#disconnectWaiters.set(key, waiters);
      }
      const wake = () => {
        waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#shutdown.signal.aborted) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#shutdown.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#shutdown.signal.addEventListener("abort", done, { once: true });
    });
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }
}

function describe(reason: DisconnectReason): string {
  switch (reason.kind) {
    case "error":
      return `${reason.error.name}: ${reason.error.message}`;
    case "eof":
      return "connection closed";
    case "replaced":
      return "replaced by another connection";
    default:
      return `${
        reason.kind === "local" ? "closed" : "goodbye"
      } (${reason.reason})`;
  }
}

function logHandlerError(type: string, error: unknown): void {
  log.error("A {type} handler failed: {error}", { type, error });
}
