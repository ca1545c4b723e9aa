/**
 * Networking for dsync: length-prefixed Noise transport frames over TCP, a
 * message channel on top (messages span frames, with a hard size cap and
 * ping/pong/goodbye control frames), a listener with admission control before
 * any cryptography, a dialer, and a pool that keeps one channel per peer and
 * reconnects known peers with back-off.
 */
export {
  Backoff,
  backoffCeiling,
  backoffDelay,
  type BackoffOptions,
  DEFAULT_BACKOFF,
} from "./backoff.ts";
export {
  admitHandshake,
  admitSession,
  type HandshakeAdmission,
  type HandshakeSeat,
  type SessionAdmission,
  type SessionSeat,
} from "./admission.ts";
export { dial, type DialOptions, formatHostPort } from "./dialer.ts";
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  establishChannel,
  type EstablishOptions,
  HandshakeTimeoutError,
  SelfConnectionError,
} from "./establish.ts";
export {
  type ByteReader,
  type ByteWriter,
  FrameReader,
  type FrameReaderOptions,
  FrameSizeError,
  FrameWriter,
  type FrameWriterOptions,
  MAX_FRAME_BODY,
  TruncatedFrameError,
  writeAll,
} from "./frame_io.ts";
export {
  bindPort,
  DEFAULT_LISTENER_LIMITS,
  listen,
  type Listener,
  type ListenerLimits,
  type ListenerStats,
  type ListenOptions,
  PortUnavailableError,
  SessionLimitError,
} from "./listener.ts";
export {
  MESSAGE_HEADER_SIZE,
  MessageAssembler,
  writeMessageHeader,
} from "./message_stream.ts";
export {
  ConnectionPool,
  DeadPeerError,
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_KEEPALIVE_MS,
  type DisconnectReason,
  PeerNotConnectedError,
  type PoolEvents,
  type PoolOptions,
  type StaticPeerOptions,
} from "./pool.ts";
export {
  ChannelClosedError,
  type ChannelConn,
  type CloseReason,
  FrameProtocolError,
  MAX_MESSAGE_SIZE,
  MessageTooLargeError,
  SecureChannel,
  type SecureChannelOptions,
} from "./secure_channel.ts";
export { chooseConnection, compareBytes, type Initiator } from "./tie_break.ts";
export {
  RateLimiter,
  type RateLimiterOptions,
  TokenBucket,
  type TokenBucketOptions,
} from "./token_bucket.ts";
