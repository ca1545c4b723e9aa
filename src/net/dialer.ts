/**
 * Dialing a peer: TCP connect, then the handshake as initiator, all under one
 * deadline.
 */
import type { HandshakeIdentity } from "../crypto/mod.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  establishChannel,
  HandshakeTimeoutError,
} from "./establish.ts";
import type { ChannelConn, SecureChannel } from "./secure_channel.ts";

/** Options of `dial()`. */
export interface DialOptions {
  hostname: string;
  port: number;
  identity: HandshakeIdentity;
  /** The peer must prove this id (e.g. from mDNS), else `IdentityMismatchError`. */
  expectedPeerId?: Uint8Array | undefined;
  /** Deadline for connect plus handshake. */
  timeoutMs?: number;
  /** Cap on one application message. */
  maxMessageSize?: number | undefined;
  /** Abandons the dial (e.g. on shutdown); rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Opens the TCP connection; `Deno.connect` by default (tests inject others). */
  connect?: (
    hostname: string,
    port: number,
    signal: AbortSignal,
  ) => Promise<ChannelConn>;
}

async function tcpConnect(
  hostname: string,
  port: number,
  signal: AbortSignal,
): Promise<ChannelConn> {
  const conn = await Deno.connect({ hostname, port, signal });
  conn.setNoDelay(true);
  return conn;
}

/** Formats a host and port, bracketing IPv6 literals. */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/**
 * Connects to `hostname:port` and runs the handshake as initiator.
 * @throws `Deno.errors.*` from connecting, `HandshakeTimeoutError`,
 *   `HandshakeError` and its subclasses, `SelfConnectionError`.
 */
export async function dial(options: DialOptions): Promise<SecureChannel> {
  const { hostname, port } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Port must be an integer in 1..65535, got ${port}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const remoteAddr = formatHostPort(hostname, port);
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new HandshakeTimeoutError(
        `Connecting to ${remoteAddr} did not finish within ${timeoutMs} ms`,
      ),
    );
  }, timeoutMs);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let conn: ChannelConn;
  try {
    conn = await (options.connect ?? tcpConnect)(
      hostname,
      port,
      controller.signal,
    );
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  return await establishChannel(conn, {
    role: "initiator",
    identity: options.identity,
    expectedPeerId: options.expectedPeerId,
    timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
    maxMessageSize: options.maxMessageSize,
    remoteAddr,
    signal: options.signal,
  });
}
