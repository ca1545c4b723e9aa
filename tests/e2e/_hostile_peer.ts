/**
 * A hostile peer for end-to-end tests: it completes a valid handshake with a
 * real dsync process (as dsync's own modules do it), says hello, then sends
 * whatever a test crafts, including encodings the checked encoder refuses
 * (see `rawMessage`). It answers the chunk requests dsync sends it from a
 * table of files it announced, correctly or in a chosen broken way.
 * @module
 */
import { blake3, fileHashOfChunks } from "../../src/index/hash.ts";
import { Identity } from "../../src/identity/identity.ts";
import { TEST_GROUP } from "./_dsync.ts";
import { dial } from "../../src/net/dialer.ts";
import type { CloseReason, SecureChannel } from "../../src/net/mod.ts";
import {
  type ChunkRequest,
  type ChunkResponse,
  decodeMessage,
  encodeMessage,
  type Hello,
  type Message,
  type WireFileRecord,
} from "../../src/protocol/mod.ts";
import { type LooseRecord, specEncode } from "../protocol/_fixtures.ts";
import { waitFor as poll } from "../_wait.ts";

/** How the hostile peer answers a chunk request for a path it announced. */
export type ServeMode =
  /** The right bytes. */
  | "correct"
  /** Bytes of the right length that hash to something else. */
  | "wrong-bytes"
  /** An LZ4 block whose single match claims far more than the chunk. */
  | "lz4-bomb"
  /** A response claiming a raw length of 10 GB (not encodable legally). */
  | "lz4-10gb"
  /** No answer at all. */
  | "silent";

/** A file the hostile peer announces and serves. */
export interface ServedFile {
  readonly data: Uint8Array;
  readonly mode: ServeMode;
}

/** Encodes any message, valid or not, per the documented byte layout. */
// deno-lint-ignore no-explicit-any
export function rawMessage(msg: any): Uint8Array {
  return specEncode(msg);
}

/** A live file record of `data` in one chunk (none when empty), unchecked. */
export function fileRecordOf(
  path: string,
  data: Uint8Array,
  sequence: bigint,
  replica: bigint,
  over: LooseRecord = {},
): LooseRecord {
  const chunks = data.length === 0
    ? []
    : [{ length: data.length, hash: blake3(data) }];
  return {
    path,
    kind: "file",
    size: data.length,
    mtimeNs: 1_700_000_000_000_000_000n,
    exec: false,
    hash: fileHashOfChunks(chunks),
    chunks,
    version: [{ replica, counter: 1n }],
    deleted: false,
    sequence,
    ...over,
  };
}

/** An empty file record: applied without any chunk request. */
export function emptyFileRecord(
  path: string,
  sequence: bigint,
  replica: bigint,
  over: LooseRecord = {},
): LooseRecord {
  return fileRecordOf(path, new Uint8Array(0), sequence, replica, over);
}

/** A deletion record (no content), with the version vector given. */
export function tombstoneRecord(
  path: string,
  sequence: bigint,
  version: { replica: bigint; counter: bigint }[],
): WireFileRecord {
  return {
    path,
    kind: "file",
    size: 0,
    mtimeNs: 0n,
    exec: false,
    hash: new Uint8Array(0),
    chunks: [],
    version,
    deleted: true,
    sequence,
  };
}

/** How a hostile peer connects. */
export interface HostileOptions {
  /** Above the protocol's, to send oversized messages. */
  readonly maxMessageSize?: number;
  readonly identity?: Identity;
  /** Our replica id (default: random), for records encoded in advance. */
  readonly replicaId?: bigint;
}

/** The connected hostile peer. */
export class HostilePeer {
  readonly channel: SecureChannel;
  readonly identity: Identity;
  /** Our replica id (random per peer). */
  readonly replicaId: bigint;
  /** Every message received from dsync, decoded (bounded to the last 10,000). */
  readonly received: Message[] = [];
  /** Chunk requests received. */
  requests = 0;
  /** Chunk responses received. */
  responses = 0;
  /** Files served by path. */
  readonly files = new Map<string, ServedFile>();
  /** Rises with every record we send. */
  sequence = 0n;
  #hello: Promise<Hello>;
  #resolveHello!: (hello: Hello) => void;
  #loop: Promise<void>;

  private constructor(
    channel: SecureChannel,
    identity: Identity,
    replicaId?: bigint,
  ) {
    this.channel = channel;
    this.identity = identity;
    const id = crypto.getRandomValues(new Uint8Array(8));
    this.replicaId = replicaId ?? new DataView(id.buffer).getBigUint64(0) | 1n;
    this.#hello = new Promise((resolve) => (this.#resolveHello = resolve));
    this.#loop = this.#receiveLoop();
  }

  /**
   * Dials dsync on 127.0.0.1:`port` and completes the handshake. A
   * `maxMessageSize` above the protocol's lets the peer send oversized
   * messages.
   */
  static async connect(
    port: number,
    options: HostileOptions = {},
  ): Promise<HostilePeer> {
    const identity = options.identity ??
      Identity.generate({ membership: TEST_GROUP.membership });
    // The listener's per-IP token bucket may refuse a burst of test
    // connections: retry a few times.
    for (let attempt = 1;; attempt++) {
      try {
        const channel = await dial({
          hostname: "127.0.0.1",
          port,
          identity,
          timeoutMs: 10_000,
          maxMessageSize: options.maxMessageSize,
        });
        return new HostilePeer(channel, identity, options.replicaId);
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * Connects and runs the start of the index exchange: our Hello, dsync's
   * Hello, an IndexAck of 0 (send us your index), and an empty last batch
   * (our initial delta).
   */
  static async start(
    port: number,
    options: HostileOptions = {},
  ): Promise<HostilePeer> {
    const peer = await HostilePeer.connect(port, options);
    await peer.send({
      type: "hello",
      protocolVersion: 2,
      replicaId: peer.replicaId,
      name: "hostile",
      caseInsensitive: false,
      posixNames: false,
      swarming: false,
      recordDiffs: false,
      blockDeltas: false,
    });
    await peer.hello();
    await peer.send({ type: "index_ack", sequence: 0n });
    await peer.send({ type: "index_batch", records: [], last: true });
    return peer;
  }

  /** dsync's Hello. */
  hello(timeoutMs = 20_000): Promise<Hello> {
    return withTimeout(this.#hello, timeoutMs, "dsync's hello");
  }

  /** True until the channel ends. */
  get open(): boolean {
    return this.channel.isOpen;
  }

  /** Why the channel ended (waits for it). */
  closed(timeoutMs = 20_000): Promise<CloseReason> {
    return withTimeout(this.channel.closed, timeoutMs, "the connection to end");
  }

  /** Sends a valid message through the checked encoder. */
  send(message: Message): Promise<void> {
    return this.channel.send(encodeMessage(message));
  }

  /** Sends bytes as one application message, unchecked. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.channel.send(bytes);
  }

  /** Next record sequence. */
  nextSequence(): bigint {
    return ++this.sequence;
  }

  /** Sends one batch of (possibly invalid) records, marked `last`. */
  sendRecords(records: LooseRecord[]): Promise<void> {
    return this.sendRaw(
      rawMessage({ type: "index_batch", last: true, records }),
    );
  }

  /** Announces `data` at `path` and serves it per `mode`. */
  announce(
    path: string,
    data: Uint8Array,
    mode: ServeMode,
    over: LooseRecord = {},
  ): Promise<void> {
    this.files.set(path, { data, mode });
    return this.sendRecords([
      fileRecordOf(path, data, this.nextSequence(), this.replicaId, over),
    ]);
  }

  /** Polls until `condition` holds; throws after `timeoutMs`. */
  waitFor(
    condition: () => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<void> {
    return poll(condition, what, timeoutMs, 20);
  }

  /** The highest sequence the victim acknowledged (0 when none). */
  ackedSequence(): bigint {
    let top = 0n;
    for (const m of this.received) {
      if (m.type === "index_ack" && m.sequence > top) top = m.sequence;
    }
    return top;
  }

  /** Closes the connection (with goodbye) and waits for the reader. */
  async close(): Promise<void> {
    await this.channel.close("hostile test done");
    await this.#loop;
  }

  async #receiveLoop(): Promise<void> {
    try {
      for (;;) {
        const bytes = await this.channel.receive();
        if (bytes === null) return;
        const msg = decodeMessage(bytes);
        if (this.received.length >= 10_000) this.received.shift();
        this.received.push(msg);
        if (msg.type === "hello") this.#resolveHello(msg);
        if (msg.type === "chunk_request") this.#answer(msg);
        if (msg.type === "chunk_response") this.responses++;
      }
    } catch {
      // dsync closed the connection on us: `closed()` tells why.
    }
  }

  #answer(request: ChunkRequest): void {
    this.requests++;
    const file = this.files.get(request.path);
    const { id, offset, length } = request;
    if (file === undefined || file.mode === "silent") {
      if (file === undefined) {
        this.#reply({
          type: "chunk_response",
          id,
          status: "not_found",
          compression: "none",
          data: new Uint8Array(0),
          rawLength: 0,
        });
      }
      return;
    }
    const data = file.data.subarray(offset, offset + length);
    switch (file.mode) {
      case "correct":
        this.#reply(okResponse(id, data));
        return;
      case "wrong-bytes": {
        const wrong = data.slice();
        wrong[0] = (wrong[0]! ^ 0xff) & 0xff;
        this.#reply(okResponse(id, wrong));
        return;
      }
      case "lz4-bomb": {
        // One literal, then a match of offset 1 whose length bytes are all
        // 255: it claims ~255 bytes of output per input byte.
        const block = new Uint8Array(Math.min(length - 1, 200_000));
        block[0] = 0x1f;
        block[1] = 0x61;
        block[2] = 1;
        block[3] = 0;
        block.fill(0xff, 4);
        this.#replyRaw({
          type: "chunk_response",
          id,
          status: "ok",
          compression: "lz4",
          rawLength: length,
          data: block,
        });
        return;
      }
      case "lz4-10gb":
        this.#replyRaw({
          type: "chunk_response",
          id,
          status: "ok",
          compression: "lz4",
          rawLength: 10_000_000_000,
          data: new Uint8Array([0x1f, 0x61, 1, 0, 0xff, 0xff, 0xff]),
        });
        return;
    }
  }

  #reply(response: ChunkResponse): void {
    this.send(response).catch(() => {});
  }

  // deno-lint-ignore no-explicit-any
  #replyRaw(response: any): void {
    this.sendRaw(rawMessage(response)).catch(() => {});
  }
}

function okResponse(id: number, data: Uint8Array): ChunkResponse {
  return {
    type: "chunk_response",
    id,
    status: "ok",
    compression: "none",
    data,
    rawLength: data.length,
  };
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${what}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resident memory of process `pid` in bytes (Linux `/proc`). */
export function residentBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+) kB/m);
  if (match === null) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The pid of the dsync process whose command line holds `-d <folder>`. */
export function pidOfDsync(folder: string): number {
  const needle = `\0-d\0${folder}\0`;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(needle) && cmdline.includes("main.ts")) {
        return Number(entry.name);
      }
    } catch {
      // Gone meanwhile, or not ours.
    }
  }
  throw new Error(`No dsync process for ${folder}`);
}
