/**
 * The index exchange with one connected peer. Both sides send `Hello` first.
 * On the peer's `Hello` we answer `IndexAck` with the highest sequence we
 * stored from its replica; on the peer's first `IndexAck` we stream our
 * records after that sequence (but none the peer is known to hold in that
 * very version, such as what we just pulled from it) in batches bounded by
 * count and bytes, the last batch of that initial delta marked `last`, then
 * keep pushing new local sequences as they appear (each batch `last`). Each
 * received `IndexBatch` is converted at the edge, stored in the remote
 * index, acked, and handed on. Chunk requests and answers are routed to the
 * responder and the requester.
 *
 * An index restored from a backup goes back in time: a peer acks a sequence
 * past our highest (we resend everything), or sends records at or below
 * what we acked at hello (we resend everything, skipping nothing, since
 * what the remote index says it holds is stale).
 *
 * A protocol violation (undecodable message, message out of order, a
 * `Hello` from our own replica, an unsolicited or corrupt chunk answer, a
 * request flood) is logged with its named error and closes this peer's
 * connection; it never throws out of {@linkcode PeerSession.receive} and
 * never touches the folder.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { fingerprint } from "../../identity/mod.ts";
import {
  type BlockRequest,
  type BlockResponse,
  type ChunkRequest,
  type ChunkResponse,
  decodeOwnedMessage,
  encodedRecordSize,
  encodeMessageParts,
  type Hello,
  INDEX_BATCH_HEADER_BYTES,
  type IndexBatch,
  MAX_RECORDS_PER_BATCH,
  type Message,
  PROTOCOL_VERSION,
  ProtocolError,
  type WireFileRecord,
} from "../../protocol/mod.ts";
import { ChunkRequester, PeerGoneError } from "./chunk_requests.ts";
import { BlockRequester } from "./block_requests.ts";
import { toWireRecord } from "./wire_record.ts";
import { SameReplicaError, SessionProtocolError } from "./session_errors.ts";
import type {
  ChunkServer,
  PeerSessionOptions,
  SessionState,
} from "./session_options.ts";
import { type HeldPage, heldPage } from "./held_page.ts";
import { SkippedRecords } from "./skipped_records.ts";
import { NameReports } from "./name_reports.ts";
import { IndexIntake } from "./intake_quota.ts";
import { takeRecords } from "./record_intake.ts";
import { sendable } from "./outgoing_record.ts";
import { peerLabel } from "./peer_label.ts";
import { RecordDiffs } from "./record_diffs.ts";

const log = getLogger(["dsync", "sync", "session"]);

const PAGE = 1000;

/** Chunk and block requests go to the responder, answers to their requester. */
function routeTransfer(
  msg: ChunkRequest | BlockRequest | ChunkResponse | BlockResponse,
  server: ChunkServer | undefined,
  chunks: ChunkRequester,
  blocks: BlockRequester,
): void {
  if (msg.type === "chunk_request" || msg.type === "block_request") {
    server?.handle(msg);
  } else if (msg.type === "chunk_response") chunks.handleResponse(msg);
  else blocks.handleResponse(msg);
}

/** Logs an index batch that would not encode (a bug, not the peer's doing). */
function logEncodeFailure(
  err: unknown,
  hello: Hello | undefined,
  fingerprint: string,
): void {
  if (!(err instanceof ProtocolError)) return;
  log.error("Cannot encode an index batch for {peer}: {error}", {
    peer: peerLabel(hello?.name, fingerprint),
    error: err.message,
  });
}

/** The protocol with one peer, over one connection. */
export class PeerSession {
  readonly peerId: Uint8Array;
  /** Short form of the peer id, for logs. */
  readonly fingerprint: string;
  readonly #o: PeerSessionOptions;
  /** Deletions of never-seen paths dropped from this peer (see `neverSeen`). */
  tombstonesDropped = 0;
  readonly #requester: ChunkRequester;
  /** Block requests in flight to this peer (when its hello takes them). */
  readonly blocks: BlockRequester;
  readonly #batchRecords: number;
  readonly #batchBytes: number;
  #hello: Hello | undefined;
  /** Names the naming rules keep apart, for the status. */
  readonly names: NameReports;
  #closed = false;
  /** Our sequence the peer has (from its first ack); undefined until then. */
  #sentUpTo: number | undefined;
  /** Highest sequence sent so far; undefined until the initial delta is complete. */
  #sentEnd: bigint | undefined;
  #peerAck = 0n;
  #received = 0n;
  #initialReceived = false;
  #peerInSync: bigint | undefined;
  #lastInSyncSent: bigint | undefined;
  #pumping: Promise<void> | undefined;
  #dirty = false;
  /** Records of the peer refused so far (their log lines are bounded). */
  readonly #skipped = new SkippedRecords();
  /** What we acked at hello: the peer's highest sequence we had stored. */
  #helloAck = 0n;
  /**
   * The peer resent records we had already stored: its index went back (a
   * restored backup). What the remote index says it holds is then stale.
   */
  #peerWentBack = false;
  /** The next delta starts from our first record again. */
  #resendAll = false;
  /** The peer's index intake: its quotas and the pauses they ask for. */
  readonly #intake: IndexIntake;
  /** Big files' records as diffs, both ways. */
  readonly #diffs: RecordDiffs;

  constructor(options: PeerSessionOptions) {
    this.names = options.names ?? new NameReports();
    this.#o = options;
    this.peerId = options.peerId;
    this.fingerprint = fingerprint(options.peerDevice ?? options.peerId);
    this.#batchRecords = Math.min(
      MAX_RECORDS_PER_BATCH,
      Math.max(1, options.batchRecords ?? 1000),
    );
    this.#batchBytes = Math.max(1, options.batchBytes ?? 4 << 20);
    this.#intake = new IndexIntake({
      peer: () => peerLabel(this.#hello?.name, this.fingerprint),
      recordsPerMinute: options.recordsPerMinute,
      neverSeenPerMinute: options.neverSeenPerMinute,
      chunksPerMinute: options.chunksPerMinute,
      budget: options.intakeBudget,
      now: options.now,
    });
    this.#diffs = new RecordDiffs(options, this);
    this.#requester = new ChunkRequester({
      send: (request) => this.send(request),
      maxBytes: options.maxRequestBytes,
      hashOffThread: options.hashOffThread,
      misbehaved: (err) => this.#violation(err),
    });
    this.blocks = new BlockRequester((request) => this.send(request));
  }

  /** The peer's replica id, once it said hello. */
  get replica(): bigint | undefined {
    return this.#hello?.replicaId;
  }

  /** The peer's display name, once it said hello. */
  get name(): string | undefined {
    return this.#hello?.name;
  }

  /** True until the connection ends. */
  get open(): boolean {
    return !this.#closed;
  }

  /** Chunk requests in flight to this peer. */
  get requester(): ChunkRequester {
    return this.#requester;
  }

  /** A snapshot of the exchange's progress. */
  state(): SessionState {
    return {
      helloReceived: this.#hello !== undefined,
      name: this.#hello?.name,
      replica: this.#hello?.replicaId,
      initialReceived: this.#initialReceived,
      allAcked: this.#sentEnd !== undefined &&
        this.#peerAck >= this.#sentEnd,
      peerAck: this.#peerAck,
      received: this.#received,
      peerInSync: this.#peerInSync,
      swarming: this.#hello?.swarming ?? false,
      blockDeltas: this.#hello?.blockDeltas ?? false,
    };
  }

  /** Sends our `Hello`. Call once, right after the connection is up. */
  start(): void {
    this.#post({
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      replicaId: this.#o.local.replicaId,
      name: this.#o.name,
      caseInsensitive: this.#o.caseInsensitive,
      posixNames: this.#o.posixNames,
      swarming: true,
      recordDiffs: true,
      blockDeltas: true,
    });
  }

  /** Encodes and sends one message; rejects when the connection is gone. */
  send(message: Message): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new PeerGoneError("Peer connection is closed"));
    }
    return this.#o.link.send(encodeMessageParts(message));
  }

  /**
   * Handles one message from the peer, taking `bytes` over (decoded in
   * place: nobody may change them afterwards). Never throws. A promise
   * returned (see `intake_quota.ts`): read nothing more until it resolves.
   */
  receive(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#closed) return undefined;
    try {
      const waitMs = this.#dispatch(decodeOwnedMessage(bytes), bytes.length);
      return waitMs === undefined ? undefined : this.#intake.pause(waitMs);
    } catch (err) {
      this.#violation(err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
  }

  /** New local sequences exist: push them (once the peer asked for our index). */
  notifyLocalChanges(): void {
    if (this.#closed || this.#sentUpTo === undefined) return;
    this.#dirty = true;
    if (this.#o.held?.()) return;
    this.#pumping ??= this.#pump().finally(() => this.#pumping = undefined);
  }

  /** Tells the peer we hold everything it announced (when that changed). */
  sendInSync(): void {
    if (
      this.#closed || !this.#initialReceived ||
      this.#lastInSyncSent === this.#received
    ) return;
    this.#lastInSyncSent = this.#received;
    this.#post({ type: "in_sync", sequence: this.#received });
  }

  /** The `length` bytes at `offset` of the peer's `path`, verified (see `ChunkRequester`). */
  requestChunk(
    path: string,
    hash: Uint8Array,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    return this.#requester.request(path, hash, offset, length, signal);
  }

  /** Sends the group's new secret after a removal (see `GroupRekey`). */
  sendGroupRekey(secret: Uint8Array, removed: Uint8Array): Promise<void> {
    return this.send({ type: "group_rekey", secret, removed });
  }

  /** The connection ended (the pool said so): fail requests, stop pushing. */
  closed(reason = "connection closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requester.close(new PeerGoneError(`Peer disconnected: ${reason}`));
    this.blocks.close(new PeerGoneError(`Peer disconnected: ${reason}`));
    this.#intake.close();
  }

  /** Waits for an index push in progress to end. */
  async settled(): Promise<void> {
    await this.#pumping;
  }

  /** Handles `msg`; returns how long to wait before reading on, if at all. */
  #dispatch(msg: Message, size: number): number | undefined {
    if (msg.type === "hello") {
      this.#onHello(msg);
      return undefined;
    }
    const hello = this.#hello;
    if (hello === undefined) {
      throw new SessionProtocolError(`Received ${msg.type} before hello`);
    }
    switch (msg.type) {
      case "index_ack":
        this.#onAck(msg.sequence);
        return undefined;
      case "index_batch":
        return this.#onBatch(hello.replicaId, msg);
      case "chunk_request":
      case "block_request":
      case "chunk_response":
      case "block_response":
        routeTransfer(msg, this.#o.chunks, this.#requester, this.blocks);
        return undefined;
      case "in_sync":
        this.#peerInSync = msg.sequence;
        return undefined;
      case "group_rekey":
        this.#o.listener?.groupRekey?.(this, msg.secret, msg.removed);
        return undefined;
      case "availability":
        this.#o.listener?.availability?.(this, msg);
        return undefined;
      case "index_diff":
        return this.#onBatch(hello.replicaId, this.#diffs.take(msg, size));
      case "record_request":
        return this.#diffs.answer(msg.path, this.#sentEnd !== undefined);
    }
  }

  #onHello(hello: Hello): void {
    if (this.#hello !== undefined) {
      throw new SessionProtocolError("Received a second hello");
    }
    if (hello.replicaId === this.#o.local.replicaId) {
      throw new SameReplicaError(hello.replicaId);
    }
    this.#hello = hello;
    this.#received = this.#o.remote.maxSequence(hello.replicaId);
    this.#helloAck = this.#received;
    this.#o.listener?.hello?.(this);
    this.#post({ type: "index_ack", sequence: this.#received });
  }

  #onAck(sequence: bigint): void {
    if (this.#sentUpTo === undefined) {
      // The first ack says where the peer wants our index from. An ack past
      // anything we issued comes from an index we no longer have: resend all.
      const max = BigInt(this.#o.local.maxSequence);
      const from = sequence > max ? 0n : sequence;
      this.#sentUpTo = Number(from);
      this.#peerAck = from;
      this.notifyLocalChanges();
      return;
    }
    if (sequence > this.#peerAck) this.#peerAck = sequence;
  }

  #onBatch(replica: bigint, batch: IndexBatch): number | undefined {
    let max = this.#received;
    for (const wire of batch.records) {
      if (wire.sequence > max) max = wire.sequence;
      if (wire.sequence <= this.#helloAck && !this.#peerWentBack) {
        this.#peerWentBack = true;
        log.info(
          "The index of {peer} went back to before what we had of it (restored from a backup?); sending it our whole index again",
          { peer: peerLabel(this.#hello?.name, this.fingerprint) },
        );
        this.#resendAll = true;
        this.notifyLocalChanges();
      }
    }
    const { records, dropped } = takeRecords(batch.records, {
      o: this.#o,
      names: this.names,
      skipped: this.#skipped,
      peer: peerLabel(this.#hello?.name, this.fingerprint),
    });
    this.tombstonesDropped += dropped;
    this.#o.remote.storeBatch(replica, records, max);
    this.#received = max;
    this.#post({ type: "index_ack", sequence: max });
    const first = batch.last && !this.#initialReceived;
    if (batch.last) this.#initialReceived = true;
    if (records.length > 0) this.#o.listener?.records?.(this, records);
    if (first) this.#o.listener?.initialDelta?.(this);
    return this.#intake.spendBatch(batch.records, dropped);
  }

  async #pump(): Promise<void> {
    while (this.#dirty && !this.#closed && !this.#o.held?.()) {
      this.#dirty = false;
      try {
        await this.#sendDelta();
      } catch (err) {
        // A failed connection is the pool's to report.
        if (!this.#closed) logEncodeFailure(err, this.#hello, this.fingerprint);
        return;
      }
    }
  }

  /** Sends everything after `#sentUpTo`; the last batch is marked `last`. */
  async #sendDelta(): Promise<void> {
    if (this.#resendAll) {
      this.#resendAll = false;
      this.#sentUpTo = 0;
    }
    let batch: WireFileRecord[] = [];
    let bytes = INDEX_BATCH_HEADER_BYTES;
    let cursor = this.#sentUpTo!;
    let batchEnd = cursor;
    let highestSent = this.#sentEnd ?? 0n;
    const flush = async (last: boolean) => {
      await this.send({ type: "index_batch", records: batch, last });
      if (batch.length > 0) {
        const top = batch[batch.length - 1]!.sequence;
        if (top > highestSent) highestSent = top;
      }
      this.#sentUpTo = batchEnd;
      batch = [];
      bytes = INDEX_BATCH_HEADER_BYTES;
    };
    for (;;) {
      if (this.#closed) return;
      const held = this.#heldPage(cursor);
      if (held?.kind === "all") {
        // Mostly what we just pulled from this very peer: sending it back
        // cost the peer a lookup and a store per record for nothing, and
        // the page need not even be read.
        cursor = batchEnd = held.last;
        if (held.full) continue;
        break;
      }
      const page = this.#o.local.since(cursor, PAGE);
      for (const record of page) {
        if (!sendable(record, this.#o, held, this.#hello, this.names)) {
          cursor = batchEnd = record.sequence;
          continue;
        }
        const wire = toWireRecord(record);
        const diff = this.#diffs.diffFor(this.#hello, wire, this.#peerAck);
        if (diff !== undefined) {
          if (batch.length > 0) await flush(this.#sentEnd !== undefined);
          await this.send({ ...diff, last: this.#sentEnd !== undefined });
          if (diff.sequence > highestSent) highestSent = diff.sequence;
          this.#sentUpTo = cursor = batchEnd = record.sequence;
          continue;
        }
        const size = encodedRecordSize(wire);
        if (
          batch.length > 0 &&
          (batch.length >= this.#batchRecords ||
            bytes + size > this.#batchBytes ||
            // Sequences must rise within a batch; a store written by two
            // processes at once can repeat one.
            wire.sequence <= batch[batch.length - 1]!.sequence)
        ) {
          await flush(this.#sentEnd !== undefined);
          if (this.#closed) return;
        }
        batch.push(wire);
        bytes += size;
        cursor = batchEnd = record.sequence;
      }
      if (page.length < PAGE) break;
    }
    if (batch.length > 0 || this.#sentEnd === undefined) {
      await flush(true);
    } else {
      this.#sentUpTo = batchEnd;
    }
    this.#sentEnd = highestSent;
  }

  /** What the peer holds of the page after `cursor` (see {@linkcode heldPage}). */
  #heldPage(cursor: number): HeldPage | undefined {
    if (this.#peerWentBack) return undefined;
    return heldPage(this.#o.remote, this.#hello?.replicaId, cursor, PAGE);
  }

  #post(message: Message): void {
    this.send(message).catch(() => {
      // The connection failed; the pool reports it.
    });
  }

  #violation(err: Error): void {
    log.warn("Closing the connection to {peer}: {name}: {message}", {
      peer: peerLabel(this.#hello?.name, this.fingerprint),
      name: err.name,
      message: err.message,
    });
    this.closed(`${err.name}: ${err.message}`);
    this.#o.link.close(err);
  }
}
