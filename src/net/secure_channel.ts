/**
 * An authenticated, encrypted message channel over one TCP connection.
 *
 * Each transport frame is a Noise transport message behind a 2-byte length.
 * Its plaintext starts with a type byte (see docs/PROTOCOL.md, "Framing and
 * messages"):
 *
 * | type | name    | rest of the plaintext                                |
 * |------|---------|------------------------------------------------------|
 * | 0x01 | DATA    | the next bytes of the message stream (at least one)  |
 * | 0x02 | PING    | 8 opaque bytes                                       |
 * | 0x03 | PONG    | the 8 bytes of the ping it answers                   |
 * | 0x04 | GOODBYE | UTF-8 reason, at most 256 bytes                      |
 *
 * The message stream is each message's u32 length then its bytes, packed
 * into DATA frames regardless of frame boundaries (see `message_stream.ts`).
 */
import { getLogger } from "@logtape/logtape";
import { MAX_PLAINTEXT, type SecureSession } from "../crypto/mod.ts";
import { type BufferPool, receivedMessages } from "../protocol/mod.ts";
import { fingerprint } from "../identity/mod.ts";
import {
  type ByteReader,
  type ByteWriter,
  FrameReader,
  FrameWriter,
} from "./frame_io.ts";
import {
  MESSAGE_HEADER_SIZE,
  MessageAssembler,
  MessageTooLargeError,
  POOLED_FROM,
  writeMessageHeader,
} from "./message_stream.ts";

export { MessageTooLargeError };

const log = getLogger(["dsync", "net"]);

/** Default hard cap on one application message. */
export const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** Longest goodbye reason on the wire, in bytes. */
export const MAX_GOODBYE_REASON = 256;

const TAG_LENGTH = 16;
/** Smallest transport frame body: a type byte and the AEAD tag. */
export const TRANSPORT_FRAME_MIN = 1 + TAG_LENGTH;
export const FRAME_DATA = 0x01;
export const FRAME_PING = 0x02;
export const FRAME_PONG = 0x03;
export const FRAME_GOODBYE = 0x04;
const PING_LENGTH = 1 + 8;
/**
 * Message parts at least this long are sealed straight from the sender's
 * buffer; shorter ones are copied together first. Each piece costs one more
 * cipher call (~1 µs), about what copying 16 KiB costs; a 64 KiB message
 * saves ~3 µs of ~90.
 */
const DIRECT_PIECE = 32 * 1024;

/** The peer broke the message envelope (unknown type, bad lengths, order). */
export class FrameProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FrameProtocolError";
  }
}

/** The channel is closed; nothing more can be sent. */
export class ChannelClosedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChannelClosedError";
  }
}

/** Why a channel ended. */
export type CloseReason =
  /** We closed it (`close()`), saying goodbye. */
  | { kind: "local"; reason: string }
  /** The peer said goodbye. */
  | { kind: "goodbye"; reason: string }
  /** The peer closed the connection without a goodbye. */
  | { kind: "eof" }
  /** A protocol, crypto or socket failure. */
  | { kind: "error"; error: Error };

/** A connection as the channel needs it; `Deno.Conn` fits. */
export interface ChannelConn extends ByteReader, ByteWriter {
  close(): void;
}

/** Options of a `SecureChannel`. */
export interface SecureChannelOptions {
  /** Reader already used for the handshake (keeps bytes it buffered). */
  reader?: FrameReader;
  /** Cap on one application message, sent or received. */
  maxMessageSize?: number;
  /** How long `close()` waits for the goodbye to be written. */
  goodbyeTimeoutMs?: number;
  /** Peer address, for logs. */
  remoteAddr?: string;
  /** Clock in ms for `lastReceivedAt`/`lastSentAt`. */
  now?: () => number;
  /**
   * Where messages spanning frames are assembled (default: the process's
   * `receivedMessages`, whose buffers the puller gives back).
   */
  messageBuffers?: BufferPool;
}

/** A queued application message or control frame. */
interface Outgoing {
  /** Application message bytes, in pieces (packed into DATA frames)... */
  message: readonly Uint8Array[] | undefined;
  /** ...of this many bytes in all... */
  length: number;
  /** ...or a whole control frame plaintext. */
  control: Uint8Array | undefined;
  resolve(): void;
  reject(error: Error): void;
  /** `FrameWriter.appended` once the frame holding its last byte is sealed. */
  end: number;
}

/**
 * Sends and receives whole messages over a Noise session. `send()` may be
 * called concurrently (messages are queued, never interleaved); `receive()`
 * must be called by one reader at a time and also answers pings.
 */
export class SecureChannel {
  /** The peer's Ed25519 public key. */
  readonly peerId: Uint8Array;
  /** The peer's stable device key, which endorsed `peerId`. */
  readonly peerDevice: Uint8Array;
  /** `member`: the peer proved our group; `join`: it asked to join one. */
  readonly peerMode: "member" | "join";
  /** The Noise handshake hash `h`, the same on both ends (binds the join PAKE). */
  readonly handshakeHash: Uint8Array;
  /** Peer address, for logs. */
  readonly remoteAddr: string;
  /** Resolves once with why the channel ended. */
  readonly closed: Promise<CloseReason>;
  /** Clock reading of the last frame received. */
  lastReceivedAt: number;
  /** Clock reading of the last frame written. */
  lastSentAt: number;

  readonly #conn: ChannelConn;
  readonly #session: Pick<SecureSession, "sender" | "receiver">;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  readonly #maxMessageSize: number;
  readonly #goodbyeTimeoutMs: number;
  readonly #now: () => number;
  readonly #scratch = new Uint8Array(MAX_PLAINTEXT);
  /**
   * Frames are opened into this one buffer (no allocation per frame); a
   * message handed out as a view of it is copied first.
   */
  readonly #opened = new Uint8Array(MAX_PLAINTEXT);
  readonly #header = new Uint8Array(MESSAGE_HEADER_SIZE);
  readonly #messageBuffers: BufferPool;
  readonly #assembler: MessageAssembler;
  #queue: Outgoing[] = [];
  #pumping = false;
  #receiving = false;
  #reason: CloseReason | undefined;
  #resolveClosed!: (reason: CloseReason) => void;

  constructor(
    conn: ChannelConn,
    session:
      & Pick<SecureSession, "peerId" | "sender" | "receiver">
      & Partial<
        Pick<SecureSession, "peerDevice" | "peerMode" | "handshakeHash">
      >,
    options: SecureChannelOptions = {},
  ) {
    this.#conn = conn;
    this.#session = session;
    this.peerId = session.peerId;
    this.peerDevice = session.peerDevice ?? session.peerId;
    this.peerMode = session.peerMode ?? "member";
    this.handshakeHash = session.handshakeHash ?? new Uint8Array(32);
    this.remoteAddr = options.remoteAddr ?? "unknown";
    this.#maxMessageSize = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    if (
      !Number.isInteger(this.#maxMessageSize) || this.#maxMessageSize < 0 ||
      this.#maxMessageSize > 0xffffffff
    ) {
      throw new RangeError(
        `Channel maxMessageSize must be an integer in [0, 2^32), got ${this.#maxMessageSize}`,
      );
    }
    this.#messageBuffers = options.messageBuffers ?? receivedMessages;
    this.#assembler = new MessageAssembler(
      this.#maxMessageSize,
      this.#messageBuffers,
    );
    this.#goodbyeTimeoutMs = options.goodbyeTimeoutMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.lastReceivedAt = this.lastSentAt = this.#now();
    // A frame carries at least a type byte and the tag.
    this.#reader = options.reader ??
      new FrameReader(conn, { minFrameBody: TRANSPORT_FRAME_MIN });
    this.#writer = new FrameWriter(conn);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Why the channel ended, or undefined while it is open. */
  get closeReason(): CloseReason | undefined {
    return this.#reason;
  }

  /** True until the channel starts closing. */
  get isOpen(): boolean {
    return this.#reason === undefined;
  }

  /**
   * Queues one application message and resolves once it has been written to
   * the socket (backpressure). Messages are never interleaved on the wire.
   * `message` may come in pieces, sent as their concatenation. It is not
   * copied up front (large pieces are encrypted straight from it): do not
   * change it until the promise settles.
   * @throws {MessageTooLargeError} above the cap (the channel stays open).
   * @throws {ChannelClosedError} once the channel is closed.
   */
  send(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const parts = message instanceof Uint8Array ? [message] : message;
    let length = 0;
    for (const part of parts) length += part.length;
    if (length > this.#maxMessageSize) {
      return Promise.reject(
        new MessageTooLargeError(
          `Message of ${length} bytes exceeds the cap of ${this.#maxMessageSize}`,
        ),
      );
    }
    return this.#enqueue({ message: parts, length });
  }

  /** Sends a keepalive ping; the peer answers with a pong. */
  ping(): Promise<void> {
    const frame = new Uint8Array(PING_LENGTH);
    frame[0] = FRAME_PING;
    crypto.getRandomValues(frame.subarray(1));
    return this.#enqueue({ control: frame });
  }

  /**
   * Next application message, or `null` once the channel ended cleanly
   * (goodbye, end of stream, or local close). Control frames are handled
   * here: keep calling `receive()` or pings go unanswered. The bytes are
   * the caller's: the channel never touches them again.
   * @throws the error that closed the channel (e.g. `DecryptError`,
   *   `TruncatedFrameError`, `MessageTooLargeError`, `FrameProtocolError`).
   */
  async receive(): Promise<Uint8Array | null> {
    if (this.#receiving) {
      throw new TypeError("SecureChannel.receive() is already pending");
    }
    const ended = this.#ended();
    if (ended !== undefined) return ended;
    this.#receiving = true;
    try {
      return await this.#receiveMessage();
    } catch (error) {
      // Closed under us (close(), abort(), a failed write): report that.
      const ended = this.#ended();
      if (ended !== undefined) return ended;
      const failure = asError(error);
      this.#fail(failure);
      throw failure;
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * Says goodbye (after queued messages) and closes the connection. Waits at
   * most `goodbyeTimeoutMs` for the goodbye to be written.
   */
  async close(reason = "closing"): Promise<void> {
    if (this.#reason !== undefined) return;
    const text = new TextEncoder().encode(reason).subarray(
      0,
      MAX_GOODBYE_REASON,
    );
    const frame = new Uint8Array(1 + text.length);
    frame[0] = FRAME_GOODBYE;
    frame.set(text, 1);
    const goodbye = this.#enqueue({ control: frame });
    this.#settle({ kind: "local", reason });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#goodbyeTimeoutMs);
    });
    try {
      await Promise.race([goodbye.catch(() => {}), timeout]);
    } finally {
      clearTimeout(timer);
      this.#shutdown();
    }
  }

  /** Closes at once without a goodbye, reporting `error` as the reason. */
  abort(error: Error): void {
    this.#fail(error);
  }

  /**
   * A message that lay whole in one frame, out of the frame buffer that
   * the next frame overwrites: a chunk-sized one into a pooled buffer
   * (the puller gives chunks back), as one spanning frames is. A fresh
   * copy each was about half the chunks of a big pull: zeroed allocations
   * and the full collections that memory outside the heap brings.
   */
  #copyOut(message: Uint8Array): Uint8Array {
    if (message.length < POOLED_FROM) return message.slice();
    const copy = this.#messageBuffers.take(message.length);
    copy.set(message);
    return copy;
  }

  async #receiveMessage(): Promise<Uint8Array | null> {
    const assembler = this.#assembler;
    for (;;) {
      const message = assembler.next();
      if (message !== undefined) {
        return message.buffer === this.#opened.buffer
          ? this.#copyOut(message)
          : message;
      }
      const frame = await this.#reader.readFrame();
      if (frame === null) {
        if (!assembler.atBoundary) {
          throw new FrameProtocolError(
            `Connection ended inside a message (${assembler.describe()})`,
          );
        }
        this.#settle({ kind: "eof" });
        this.#shutdown();
        return null;
      }
      const plain = this.#opened.subarray(
        0,
        this.#session.receiver.openInto(frame, this.#opened, 0),
      );
      this.lastReceivedAt = this.#now();
      const type = plain[0];
      switch (type) {
        case FRAME_DATA:
          if (plain.length === 1) {
            throw new FrameProtocolError("DATA frame carries no bytes");
          }
          assembler.push(plain.subarray(1));
          break;
        case FRAME_PING:
          if (plain.length !== PING_LENGTH) {
            throw new FrameProtocolError(
              `PING frame of ${plain.length} bytes, expected ${PING_LENGTH}`,
            );
          }
          this.#sendPong(plain.slice(1));
          break;
        case FRAME_PONG:
          if (plain.length !== PING_LENGTH) {
            throw new FrameProtocolError(
              `PONG frame of ${plain.length} bytes, expected ${PING_LENGTH}`,
            );
          }
          break;
        case FRAME_GOODBYE: {
          if (!assembler.atBoundary) {
            throw new FrameProtocolError(
              `GOODBYE inside a message (${assembler.describe()})`,
            );
          }
          if (plain.length - 1 > MAX_GOODBYE_REASON) {
            throw new FrameProtocolError(
              `GOODBYE reason of ${
                plain.length - 1
              } bytes exceeds ${MAX_GOODBYE_REASON}`,
            );
          }
          const reason = new TextDecoder("utf-8", { fatal: false }).decode(
            plain.subarray(1),
          );
          log.debug("Peer {peer} said goodbye: {reason}", {
            peer: fingerprint(this.peerId),
            reason,
          });
          this.#settle({ kind: "goodbye", reason });
          this.#shutdown();
          return null;
        }
        default:
          throw new FrameProtocolError(`Unknown frame type ${type}`);
      }
    }
  }

  #sendPong(payload: Uint8Array): void {
    const frame = new Uint8Array(PING_LENGTH);
    frame[0] = FRAME_PONG;
    frame.set(payload, 1);
    // A failed write closes the channel; nothing to add here.
    this.#enqueue({ control: frame }).catch(() => {});
  }

  #enqueue(
    item: {
      message: readonly Uint8Array[];
      length: number;
      control?: never;
    } | {
      message?: never;
      length?: never;
      control: Uint8Array;
    },
  ): Promise<void> {
    if (this.#reason !== undefined) {
      return Promise.reject(this.#closedError());
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#queue.push({
      message: item.message,
      length: item.length ?? 0,
      control: item.control,
      resolve,
      reject,
      end: Infinity,
    });
    if (!this.#pumping) {
      this.#pumping = true;
      // Start after the current task so that sends issued together share
      // frames and writes.
      queueMicrotask(() => this.#pump());
    }
    return promise;
  }

  /**
   * The single writer. Packs queued messages into DATA frames (filling each
   * frame), seals control frames between them, and flushes when the queue is
   * empty. An item resolves once all of its bytes have reached the socket.
   */
  async #pump(): Promise<void> {
    const writer = this.#writer;
    const sealer = this.#session.sender;
    const scratch = this.#scratch;
    scratch[0] = FRAME_DATA;
    /**
     * Plaintext of the DATA frame being filled, in order: runs of `scratch`
     * (small pieces, copied) and views of large message parts, which are
     * sealed straight from the caller's buffer.
     */
    const pieces: Uint8Array[] = [];
    let planned = 1; // plaintext bytes in the frame, type byte included
    let fill = 1; // end of the bytes copied into scratch
    let runStart = 0; // scratch bytes from here on are not in `pieces` yet
    /** Items whose last byte sits in the DATA frame being filled. */
    const unsealed: Outgoing[] = [];
    /** Items sealed but not yet fully written. */
    const pending: Outgoing[] = [];
    const settleWritten = () => {
      this.lastSentAt = this.#now();
      while (pending.length > 0 && pending[0]!.end <= writer.written) {
        pending.shift()!.resolve();
      }
    };
    const seal = async (plain: Uint8Array) => {
      const before = writer.written;
      await writer.writeFrameWith(
        plain.length + TAG_LENGTH,
        (buf, offset) => sealer.sealInto(plain, buf, offset),
      );
      if (writer.written !== before) settleWritten();
    };
    const closeRun = () => {
      if (fill > runStart) pieces.push(scratch.subarray(runStart, fill));
      runStart = fill;
    };
    const sealPieces = (buf: Uint8Array, offset: number) => {
      const frame = sealer.startSeal();
      for (const piece of pieces) offset += frame.update(piece, buf, offset);
      frame.finish(buf, offset);
    };
    const sealData = async () => {
      if (planned === 1) return;
      closeRun();
      const before = writer.written;
      // Nothing touches `pieces` or `scratch` while this waits: the pump is
      // the only writer.
      await writer.writeFrameWith(planned + TAG_LENGTH, sealPieces);
      pieces.length = 0;
      planned = fill = 1;
      runStart = 0;
      if (writer.written !== before) settleWritten();
      for (const item of unsealed) {
        item.end = writer.appended;
        pending.push(item);
      }
      unsealed.length = 0;
    };
    const append = async (bytes: Uint8Array) => {
      for (let off = 0; off < bytes.length;) {
        if (planned === MAX_PLAINTEXT) await sealData();
        const n = Math.min(bytes.length - off, MAX_PLAINTEXT - planned);
        if (n >= DIRECT_PIECE) {
          closeRun();
          pieces.push(bytes.subarray(off, off + n));
        } else {
          scratch.set(bytes.subarray(off, off + n), fill);
          fill += n;
        }
        planned += n;
        off += n;
      }
    };
    /** The item being packed: in neither list yet, so a failure must reject it too. */
    let current: Outgoing | undefined;
    try {
      while (this.#queue.length > 0) {
        const item = current = this.#queue.shift()!;
        if (item.message !== undefined) {
          await append(writeMessageHeader(this.#header, item.length));
          for (const part of item.message) await append(part);
          unsealed.push(item);
        } else {
          await sealData();
          await seal(item.control!);
          item.end = writer.appended;
          pending.push(item);
        }
        current = undefined;
        if (this.#queue.length === 0) {
          await sealData();
          await writer.flush();
          settleWritten();
        }
      }
    } catch (error) {
      const failure = asError(error);
      for (const item of [...pending, ...unsealed]) item.reject(failure);
      current?.reject(failure);
      this.#fail(failure);
    } finally {
      this.#pumping = false;
      if (this.#queue.length > 0) {
        // Only reached after a failure: nothing more will be written.
        const error = this.#closedError();
        for (const item of this.#queue.splice(0)) item.reject(error);
      }
    }
  }

  /** null when closed cleanly, undefined while open; throws a stored failure. */
  #ended(): null | undefined {
    if (this.#reason === undefined) return undefined;
    if (this.#reason.kind === "error") throw this.#reason.error;
    return null;
  }

  #fail(error: Error): void {
    if (this.#reason !== undefined) return;
    this.#settle({ kind: "error", error });
    log.warn("Closing channel to {peer} ({addr}): {name}: {message}", {
      peer: fingerprint(this.peerId),
      addr: this.remoteAddr,
      name: error.name,
      message: error.message,
    });
    this.#shutdown();
    const closed = this.#closedError();
    for (const item of this.#queue.splice(0)) item.reject(closed);
  }

  #settle(reason: CloseReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#resolveClosed(reason);
  }

  #closedError(): ChannelClosedError {
    const reason = this.#reason;
    const why = reason === undefined
      ? "closed"
      : reason.kind === "error"
      ? `${reason.error.name}: ${reason.error.message}`
      : reason.kind === "eof"
      ? "peer closed the connection"
      : `${reason.kind}: ${reason.reason}`;
    return new ChannelClosedError(
      `Channel to ${this.remoteAddr} is closed (${why})`,
      {
        cause: reason?.kind === "error" ? reason.error : undefined,
      },
    );
  }

  #shutdown(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
