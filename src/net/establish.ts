/**
 * Turns a fresh TCP connection into a `SecureChannel`: runs the handshake
 * under a deadline over the same buffered reader the channel then keeps, and
 * refuses a peer that turns out to be ourselves.
 */
import {
  HandshakeError,
  type HandshakeIdentity,
  secureHandshake,
} from "../crypto/mod.ts";
import { samePeerId } from "../identity/mod.ts";
import { FrameReader, writeAll } from "./frame_io.ts";
import {
  type ChannelConn,
  SecureChannel,
  TRANSPORT_FRAME_MIN,
} from "./secure_channel.ts";

/** Default handshake deadline. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

/** The handshake did not finish before its deadline. */
export class HandshakeTimeoutError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeTimeoutError";
  }
}

/** The peer proved our own identity: we dialed ourselves. */
export class SelfConnectionError extends HandshakeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SelfConnectionError";
  }
}

/** Options of `establishChannel()`. */
export interface EstablishOptions {
  role: "initiator" | "responder";
  identity: HandshakeIdentity;
  /** The peer must prove this id, else `IdentityMismatchError`. */
  expectedPeerId?: Uint8Array | undefined;
  /** Handshake deadline; `HandshakeTimeoutError` after it. */
  timeoutMs?: number;
  /** Cap on one application message. */
  maxMessageSize?: number | undefined;
  /** Peer address, for logs and errors. */
  remoteAddr: string;
  /** Aborts the handshake (e.g. the listener closes). */
  signal?: AbortSignal | undefined;
}

/**
 * Runs the handshake on `conn` and wraps it in a channel. On any failure the
 * connection is closed and the error rethrown (`HandshakeError` and its
 * subclasses, `DecryptError`).
 */
export async function establishChannel(
  conn: ChannelConn,
  options: EstablishOptions,
): Promise<SecureChannel> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new HandshakeTimeoutError(
        `Handshake with ${options.remoteAddr} did not finish within ${timeoutMs} ms`,
      ),
    );
  }, timeoutMs);
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const reader = new FrameReader(conn, { minFrameBody: TRANSPORT_FRAME_MIN });
  try {
    if (options.signal?.aborted) onOuterAbort();
    const session = await secureHandshake(
      {
        write: (bytes) => writeAll(conn, bytes),
        readExact: (n) => reader.readExact(n),
      },
      {
        role: options.role,
        identity: options.identity,
        signal: controller.signal,
        ...(options.expectedPeerId && {
          expectedPeerId: options.expectedPeerId,
        }),
      },
    );
    if (samePeerId(session.peerId, options.identity.publicKey)) {
      throw new SelfConnectionError(
        `Connection to ${options.remoteAddr} reached ourselves`,
      );
    }
    return new SecureChannel(conn, session, {
      reader,
      remoteAddr: options.remoteAddr,
      ...(options.maxMessageSize !== undefined &&
        { maxMessageSize: options.maxMessageSize }),
    });
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}
