/**
 * The TCP listener. Admission control runs before any cryptography: a per-IP
 * token bucket, then caps on handshakes in flight (overall and per IP) and
 * on sessions per IP; refused connections are closed at once and only
 * counted. Admitted ones get a handshake deadline. A full listener makes
 * room rather than locking everyone out (see `admission.ts`): the oldest
 * handshake, or the longest idle session, of whoever holds more than its
 * share is closed, strangers before members.
 */
import { getLogger } from "@logtape/logtape";
import { type HandshakeIdentity, NotGroupMemberError } from "../crypto/mod.ts";
import { fingerprint } from "../identity/mod.ts";
import { admitHandshake, admitSession } from "./admission.ts";
import { formatHostPort } from "./dialer.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, establishChannel } from "./establish.ts";
import type { SecureChannel } from "./secure_channel.ts";
import { RateLimiter } from "./token_bucket.ts";

const log = getLogger(["dsync", "net"]);

/** Admission limits of a listener. */
export interface ListenerLimits {
  /** Handshake deadline. */
  handshakeTimeoutMs: number;
  /** Handshakes running at once; when full the oldest of the busiest address makes room. */
  maxHandshakes: number;
  /** Handshakes running at once from one IP (below `maxHandshakes`). */
  maxHandshakesPerIp: number;
  /** Open sessions (after the handshake); when full the longest idle stranger, or of the busiest address, makes room. */
  maxSessions: number;
  /** Open sessions plus handshakes from one IP at once. */
  maxSessionsPerIp: number;
  /** Connections one IP may open in a burst. */
  perIpBurst: number;
  /** Sustained connections per second per IP. */
  perIpPerSecond: number;
  /** IPs remembered by the rate limiter. */
  maxTrackedIps: number;
  /** At most one summary log of refused connections per interval. */
  logIntervalMs: number;
  /** At most one "not in this folder's group" warning per address per interval. */
  refusalLogIntervalMs: number;
  /** Cap on one application message on accepted channels. */
  maxMessageSize?: number;
}

/** Defaults: generous for a LAN, tight enough to shrug off a flood. */
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  maxHandshakes: 64,
  maxHandshakesPerIp: 8,
  maxSessions: 128,
  maxSessionsPerIp: 32,
  perIpBurst: 16,
  perIpPerSecond: 4,
  maxTrackedIps: 4096,
  logIntervalMs: 10_000,
  refusalLogIntervalMs: 60_000,
};

/** Counters since the listener started. */
export interface ListenerStats {
  accepted: number;
  rateLimited: number;
  /** Refused: too many handshakes, sessions, or sessions from that IP. */
  overCapacity: number;
  /** Handshakes and sessions closed to make room for a newcomer. */
  evicted: number;
  handshakesInFlight: number;
  /** Sessions handed to `onSession` so far. */
  sessions: number;
  /** Sessions currently open. */
  openSessions: number;
  /** Failed handshakes by error name (e.g. `HandshakeTimeoutError`). */
  failures: Record<string, number>;
}

/** The port cannot be listened on: taken by another program, or privileged. */
export class PortUnavailableError extends Error {
  constructor(readonly port: number, reason: string, options?: ErrorOptions) {
    super(
      `Cannot listen on port ${port}: ${reason}; choose another with -p or in dsync.toml`,
      options,
    );
    this.name = "PortUnavailableError";
  }
}

/**
 * Binds the TCP port a listener will serve (so a taken port is found
 * before any other work). Throws {@linkcode PortUnavailableError} when the
 * port is in use or needs privileges.
 */
export function bindPort(port: number, hostname = "0.0.0.0"): Deno.TcpListener {
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new PortUnavailableError(
        port,
        "it is in use (another dsync, or another program)",
        { cause: err },
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new PortUnavailableError(
        port,
        "permission denied (ports below 1024 need privileges)",
        { cause: err },
      );
    }
    throw err;
  }
}

/** Options of `listen()`. */
export interface ListenOptions {
  hostname?: string;
  port: number;
  /** A socket already bound (`bindPort`); else `hostname`:`port` is bound. */
  socket?: Deno.TcpListener;
  identity: HandshakeIdentity;
  /** Called with each channel of a group member; the callee owns it. */
  onSession(
    channel: SecureChannel,
    peerId: Uint8Array,
    remoteAddr: Deno.NetAddr,
  ): void;
  /**
   * Called with each channel of a device that asked to join the group (no
   * membership proved); the callee owns it. Without it such channels are
   * closed at once.
   */
  onJoin?(channel: SecureChannel, remoteAddr: Deno.NetAddr): void;
  limits?: Partial<ListenerLimits>;
  /** Clock for the rate limiter and log throttling. */
  now?: () => number;
}

/** A running listener. */
export interface Listener {
  readonly addr: Deno.NetAddr;
  readonly stats: Readonly<ListenerStats>;
  /** Stops accepting, aborts handshakes in flight, waits for the loop to end. */
  close(): Promise<void>;
}

/** Starts listening; resolves once the socket is bound. */
export function listen(options: ListenOptions): Listener {
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const socket = options.socket ??
    bindPort(options.port, options.hostname ?? "0.0.0.0");
  const addr = socket.addr as Deno.NetAddr;
  const limiter = new RateLimiter({
    capacity: limits.perIpBurst,
    refillPerSecond: limits.perIpPerSecond,
    maxKeys: limits.maxTrackedIps,
    now,
  });
  const stats: ListenerStats = {
    accepted: 0,
    rateLimited: 0,
    overCapacity: 0,
    evicted: 0,
    handshakesInFlight: 0,
    sessions: 0,
    openSessions: 0,
    failures: {},
  };
  const inFlight = new Map<Deno.Conn, { ip: string; startedAt: number }>();
  const open = new Map<SecureChannel, { ip: string; member: boolean }>();
  // Handshakes plus open sessions per IP; entries vanish at zero.
  const perIp = new Map<string, number>();
  const release = (ip: string) => {
    const n = (perIp.get(ip) ?? 1) - 1;
    if (n <= 0) perIp.delete(ip);
    else perIp.set(ip, n);
  };
  const tasks = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let closed = false;

  // Refusals and failures are summed and logged at most once per interval.
  let unreported = { rateLimited: 0, overCapacity: 0, evicted: 0, failed: 0 };
  let lastReport = -Infinity;
  const report = (force = false) => {
    const t = now();
    if (!force && t - lastReport < limits.logIntervalMs) return;
    const { rateLimited, overCapacity, evicted, failed } = unreported;
    if (rateLimited + overCapacity + evicted + failed === 0) return;
    lastReport = t;
    unreported = { rateLimited: 0, overCapacity: 0, evicted: 0, failed: 0 };
    log.warn(
      "Refused {rateLimited} connections over the per-IP rate and {overCapacity} over the handshake or session caps, closed {evicted} to make room; {failed} handshakes failed",
      { rateLimited, overCapacity, evicted, failed },
    );
  };

  // Address → when a non-member from it was last reported.
  const refusals = new Map<string, number>();
  const reportRefusal = (ip: string) => {
    const t = now();
    const last = refusals.get(ip);
    if (last !== undefined && t - last < limits.refusalLogIntervalMs) return;
    if (refusals.size >= limits.maxTrackedIps) refusals.clear();
    refusals.set(ip, t);
    log.warn(
      "Refused a device that is not in this folder's group at {addr}",
      { addr: ip },
    );
  };

  const handshake = async (conn: Deno.Conn, remote: Deno.NetAddr) => {
    const remoteAddr = formatHostPort(remote.hostname, remote.port);
    let channel: SecureChannel;
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
      channel = await establishChannel(conn, {
        role: "responder",
        identity: options.identity,
        timeoutMs: limits.handshakeTimeoutMs,
        maxMessageSize: limits.maxMessageSize,
        remoteAddr,
        signal: shutdown.signal,
      });
    } catch (error) {
      release(remote.hostname);
      const name = error instanceof Error ? error.name : "Error";
      stats.failures[name] = (stats.failures[name] ?? 0) + 1;
      if (error instanceof NotGroupMemberError) reportRefusal(remote.hostname);
      else unreported.failed++;
      log.debug("Handshake with {addr} failed: {name}: {message}", {
        addr: remoteAddr,
        name,
        message: error instanceof Error ? error.message : String(error),
      });
      report();
      return;
    } finally {
      inFlight.delete(conn);
      stats.handshakesInFlight = inFlight.size;
    }
    if (closed) {
      release(remote.hostname);
      channel.abort(new Error("Listener closed"));
      return;
    }
    const member = channel.peerMode === "member";
    const seat = admitSession(
      [...open].map(([key, s]) => ({
        key,
        ip: s.ip,
        member: s.member,
        lastActiveAt: key.lastReceivedAt,
      })),
      { ip: remote.hostname, member },
      limits.maxSessions,
    );
    if (seat.kind === "refuse") {
      release(remote.hostname);
      stats.overCapacity++;
      unreported.overCapacity++;
      channel.abort(new SessionLimitError("the listener is full"));
      report();
      return;
    }
    if (seat.kind === "evict") {
      stats.evicted++;
      unreported.evicted++;
      log.debug("Closing an idle session from {addr} to make room", {
        addr: seat.key.remoteAddr,
      });
      seat.key.abort(
        new SessionLimitError("closed to make room for another device"),
      );
      report();
    }
    open.set(channel, { ip: remote.hostname, member });
    stats.sessions++;
    stats.openSessions++;
    channel.closed.then(() => {
      open.delete(channel);
      stats.openSessions--;
      release(remote.hostname);
    });
    log.debug("Accepted peer {peer} from {addr}", {
      peer: fingerprint(channel.peerId),
      addr: remoteAddr,
    });
    try {
      if (channel.peerMode === "join") {
        if (options.onJoin === undefined) {
          channel.abort(new Error("This device does not take join requests"));
        } else options.onJoin(channel, remote);
      } else options.onSession(channel, channel.peerId, remote);
    } catch (error) {
      log.error("Session handler failed for {addr}: {error}", {
        addr: remoteAddr,
        error,
      });
      channel.abort(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const acceptLoop = async () => {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await socket.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) break;
        // E.g. out of file descriptors: pause instead of spinning.
        log.error("Accept failed: {error}", { error });
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      stats.accepted++;
      const remote = conn.remoteAddr as Deno.NetAddr;
      if (!limiter.allow(remote.hostname)) {
        stats.rateLimited++;
        unreported.rateLimited++;
        closeQuietly(conn);
        report();
        continue;
      }
      const slot = admitHandshake(
        [...inFlight].map(([key, h]) => ({ key, ...h })),
        remote.hostname,
        { max: limits.maxHandshakes, perIp: limits.maxHandshakesPerIp },
      );
      if (
        slot.kind === "refuse" ||
        (perIp.get(remote.hostname) ?? 0) >= limits.maxSessionsPerIp
      ) {
        stats.overCapacity++;
        unreported.overCapacity++;
        closeQuietly(conn);
        report();
        continue;
      }
      if (slot.kind === "evict") {
        // Its handshake fails and releases its slot.
        stats.evicted++;
        unreported.evicted++;
        closeQuietly(slot.key);
        inFlight.delete(slot.key);
      }
      inFlight.set(conn, { ip: remote.hostname, startedAt: now() });
      perIp.set(remote.hostname, (perIp.get(remote.hostname) ?? 0) + 1);
      stats.handshakesInFlight = inFlight.size;
      const task = handshake(conn, remote);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  };
  const loop = acceptLoop().catch((error) => {
    log.error("Accept loop ended: {error}", { error });
  });

  return {
    addr,
    stats,
    async close() {
      if (closed) return loop;
      closed = true;
      shutdown.abort(new Error("Listener closed"));
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      for (const conn of inFlight.keys()) closeQuietly(conn);
      await loop;
      await Promise.allSettled([...tasks]);
      report(true);
    },
  };
}

/** A session closed or refused because the listener was full. */
export class SessionLimitError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`Session limit: ${message}`, options);
    this.name = "SessionLimitError";
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
