/**
 * Binary encoding of application messages: one type byte, then the fields in
 * a fixed order. Integers are unsigned LEB128 varints in their shortest form
 * (signed mtimes zigzag-mapped first), byte strings and UTF-8 strings carry a
 * varint length. The layout is documented in docs/PROTOCOL.md ("Message
 * layouts"), and tests/protocol/protocol_doc_test.ts holds this codec to it.
 * Both directions check every field, so a message that encodes also decodes,
 * and `encode(decode(b))` gives back `b`.
 */
import { Reader } from "./_reader.ts";
import {
  checkBlockRequest,
  checkBlockResponse,
  readBlockRequest,
  readBlockResponse,
  writeBlockRequest,
  writeBlockResponse,
} from "./_block_messages.ts";
import {
  checkAvailability,
  checkBatch,
  checkChunkRequest,
  checkChunkResponse,
  checkHello,
  checkIndexDiff,
  checkRecordRequest,
} from "./_checks.ts";
import { Writer } from "./_writer.ts";

/** Exact encoded size of a record inside an `IndexBatch`. */
export { encodedRecordSize } from "./_record_codec.ts";
import {
  readIndexDiff,
  readRecord,
  writeIndexDiff,
  writeRecord,
} from "./_record_codec.ts";
import {
  LimitExceededError,
  MalformedMessageError,
  ProtocolError,
  UnsupportedVersionError,
} from "./errors.ts";
import {
  HASH_SIZE,
  MAX_AVAILABILITY_RANGES,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_MESSAGE_SIZE,
  MAX_PATH_BYTES,
  MAX_PEER_NAME_BYTES,
  MAX_RECORDS_PER_BATCH,
  MAX_REQUEST_ID,
  MAX_SEQUENCE,
  PROTOCOL_VERSION,
  U64_MAX,
} from "./limits.ts";
import type {
  Availability,
  ChunkCompression,
  ChunkRange,
  ChunkRequest,
  ChunkResponse,
  ChunkStatus,
  Hello,
  IndexAck,
  IndexBatch,
  InSync,
  Message,
  MessageType,
  WireFileRecord,
} from "./messages.ts";

/** The type byte of each message. */
export const MESSAGE_TYPE_CODES: Readonly<Record<MessageType, number>> = Object
  .freeze({
    hello: 1,
    index_batch: 2,
    index_ack: 3,
    chunk_request: 4,
    chunk_response: 5,
    in_sync: 6,
    group_rekey: 7,
    availability: 8,
    index_diff: 9,
    record_request: 10,
    block_request: 11,
    block_response: 12,
  });

/** Bytes an `IndexBatch` adds around its records (type, last, count). */
export const INDEX_BATCH_HEADER_BYTES = 4;

const STATUSES: readonly ChunkStatus[] = [
  "ok",
  "changed",
  "not_found",
  "refused",
];
const STATUS_CODES: Readonly<Record<ChunkStatus, number>> = {
  ok: 0,
  changed: 1,
  not_found: 2,
  refused: 3,
};
const COMPRESSIONS: readonly ChunkCompression[] = ["none", "lz4"];
const HELLO_CASE_INSENSITIVE = 1;
const HELLO_POSIX_NAMES = 2;
const HELLO_SWARMING = 4;
const HELLO_RECORD_DIFFS = 8;
const HELLO_BLOCK_DELTAS = 16;
const HELLO_FLAGS = HELLO_CASE_INSENSITIVE | HELLO_POSIX_NAMES |
  HELLO_SWARMING | HELLO_RECORD_DIFFS | HELLO_BLOCK_DELTAS;

// ---------------------------------------------------------------- encode

function encodeChecked(msg: Message): Writer {
  switch (msg.type) {
    case "hello": {
      checkHello(msg);
      const w = new Writer(96);
      w.u8(MESSAGE_TYPE_CODES.hello);
      w.varUint(PROTOCOL_VERSION);
      w.varBigUint(msg.replicaId);
      w.string(msg.name);
      w.u8(
        (msg.caseInsensitive ? HELLO_CASE_INSENSITIVE : 0) |
          (msg.posixNames ? HELLO_POSIX_NAMES : 0) |
          (msg.swarming ? HELLO_SWARMING : 0) |
          (msg.recordDiffs ? HELLO_RECORD_DIFFS : 0) |
          (msg.blockDeltas ? HELLO_BLOCK_DELTAS : 0),
      );
      return w;
    }
    case "index_batch": {
      checkBatch(msg);
      const w = new Writer(64 + msg.records.length * 192);
      w.u8(MESSAGE_TYPE_CODES.index_batch);
      w.u8(msg.last ? 1 : 0);
      w.varUint(msg.records.length);
      for (const record of msg.records) writeRecord(w, record);
      return w;
    }
    case "index_ack":
    case "in_sync": {
      checkSequence(msg);
      const w = new Writer(16);
      w.u8(MESSAGE_TYPE_CODES[msg.type]);
      w.varBigUint(msg.sequence);
      return w;
    }
    case "group_rekey": {
      if (msg.secret.length !== 32 || msg.removed.length !== 32) {
        throw new MalformedMessageError(
          "Invalid GroupRekey: secret and removed device key must be 32 bytes",
        );
      }
      const w = new Writer(72);
      w.u8(MESSAGE_TYPE_CODES.group_rekey);
      w.raw(msg.secret);
      w.raw(msg.removed);
      return w;
    }
    case "availability": {
      checkAvailability(msg);
      const w = new Writer(48 + msg.path.length * 3 + msg.ranges.length * 6);
      w.u8(MESSAGE_TYPE_CODES.availability);
      w.string(msg.path);
      w.raw(msg.hash);
      w.varUint(msg.ranges.length);
      for (const range of msg.ranges) {
        w.varUint(range.start);
        w.varUint(range.count);
      }
      return w;
    }
    case "index_diff": {
      checkIndexDiff(msg);
      const w = new Writer(
        160 + msg.path.length * 3 + msg.edits.length * 6 +
          msg.added.length * 36,
      );
      w.u8(MESSAGE_TYPE_CODES.index_diff);
      writeIndexDiff(w, msg);
      return w;
    }
    case "record_request": {
      checkRecordRequest(msg);
      const w = new Writer(8 + msg.path.length * 3);
      w.u8(MESSAGE_TYPE_CODES.record_request);
      w.string(msg.path);
      return w;
    }
    case "chunk_request": {
      checkChunkRequest(msg);
      const w = new Writer(64 + msg.path.length * 3);
      w.u8(MESSAGE_TYPE_CODES.chunk_request);
      w.varUint(msg.id);
      w.string(msg.path);
      w.raw(msg.hash);
      w.varUint(msg.offset);
      w.varUint(msg.length);
      return w;
    }
    case "chunk_response": {
      const w = new Writer(16 + msg.data.length);
      writeChunkResponseHead(w, msg);
      w.raw(msg.data);
      return w;
    }
    case "block_request": {
      checkBlockRequest(msg);
      const w = new Writer(64 + msg.path.length * 3 + msg.signatures.length);
      w.u8(MESSAGE_TYPE_CODES.block_request);
      writeBlockRequest(w, msg);
      return w;
    }
    case "block_response": {
      checkBlockResponse(msg);
      const w = new Writer(24 + msg.bitmap.length + msg.data.length);
      w.u8(MESSAGE_TYPE_CODES.block_response);
      writeBlockResponse(w, msg);
      return w;
    }
    default:
      throw new MalformedMessageError(
        `Unknown message type ${
          JSON.stringify((msg as { type?: unknown } | null)?.type)
        }`,
      );
  }
}

function checkSequence(msg: IndexAck | InSync): void {
  const v = msg.sequence;
  const what = msg.type === "index_ack" ? "IndexAck" : "InSync";
  if (typeof v !== "bigint" || v < 0n) {
    throw new MalformedMessageError(
      `Invalid ${what} sequence: ${String(v)} is not a bigint >= 0`,
    );
  }
  if (v > MAX_SEQUENCE) {
    throw new LimitExceededError(
      `Invalid ${what} sequence: ${v} exceeds ${MAX_SEQUENCE}`,
    );
  }
}

/**
 * Encodes a message after checking every field against the rules the
 * decoder enforces. Throws a `ProtocolError` subclass for an invalid message
 * (`LimitExceededError` also when the encoding exceeds `MAX_MESSAGE_SIZE`).
 */
export function encodeMessage(msg: Message): Uint8Array {
  let w: Writer;
  try {
    w = encodeChecked(msg);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new MalformedMessageError(`Cannot encode message: ${error}`, {
      cause: error,
    });
  }
  if (w.length > MAX_MESSAGE_SIZE) {
    throw new LimitExceededError(
      `Encoded ${msg.type} of ${w.length} bytes exceeds ${MAX_MESSAGE_SIZE}`,
    );
  }
  return w.finish();
}

/** Chunk data from this size on is sent as its own part, not copied. */
const SEPARATE_DATA = 1024;

/**
 * {@linkcode encodeMessage} as pieces whose concatenation is the encoding:
 * a chunk response's data (from {@linkcode SEPARATE_DATA} bytes) is a piece
 * of its own, the caller's buffer itself, so that a channel can encrypt it
 * in place of copying it into the message first. Do not change that buffer
 * until the message is sent.
 */
export function encodeMessageParts(msg: Message): Uint8Array[] {
  if (msg.type !== "chunk_response" || msg.data.length < SEPARATE_DATA) {
    return [encodeMessage(msg)];
  }
  const w = new Writer(24);
  writeChunkResponseHead(w, msg);
  if (w.length + msg.data.length > MAX_MESSAGE_SIZE) {
    throw new LimitExceededError(
      `Encoded ${msg.type} of ${
        w.length + msg.data.length
      } bytes exceeds ${MAX_MESSAGE_SIZE}`,
    );
  }
  return [w.finish(), msg.data];
}

/**
 * Checks a chunk response and writes all of it but the data: the fields,
 * then the data's varint length.
 */
function writeChunkResponseHead(w: Writer, msg: ChunkResponse): void {
  checkChunkResponse(msg);
  w.u8(MESSAGE_TYPE_CODES.chunk_response);
  w.varUint(msg.id);
  w.u8(STATUS_CODES[msg.status]);
  w.u8(msg.compression === "lz4" ? 1 : 0);
  w.varUint(msg.rawLength);
  w.varUint(msg.data.length);
}

// ---------------------------------------------------------------- decode

function decodeFrom(bytes: Uint8Array): Message {
  const rd = new Reader(bytes);
  const code = rd.u8("message type");
  let msg: Message;
  switch (code) {
    case MESSAGE_TYPE_CODES.hello: {
      const version = rd.varUint("Hello protocol version", MAX_REQUEST_ID);
      if (version !== PROTOCOL_VERSION) {
        throw new UnsupportedVersionError(version);
      }
      const replicaId = rd.varBigUint("Hello replica id", U64_MAX);
      const name = rd.string("Hello name", MAX_PEER_NAME_BYTES);
      const flags = rd.u8("Hello flags");
      if ((flags & ~HELLO_FLAGS) !== 0) {
        throw new MalformedMessageError(`Invalid Hello flags byte ${flags}`);
      }
      const hello: Hello = {
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        replicaId,
        name,
        caseInsensitive: (flags & HELLO_CASE_INSENSITIVE) !== 0,
        posixNames: (flags & HELLO_POSIX_NAMES) !== 0,
        swarming: (flags & HELLO_SWARMING) !== 0,
        recordDiffs: (flags & HELLO_RECORD_DIFFS) !== 0,
        blockDeltas: (flags & HELLO_BLOCK_DELTAS) !== 0,
      };
      checkHello(hello);
      msg = hello;
      break;
    }
    case MESSAGE_TYPE_CODES.index_batch: {
      const last = rd.bool("IndexBatch last");
      const count = rd.varUint(
        "IndexBatch record count",
        MAX_RECORDS_PER_BATCH,
      );
      const records: WireFileRecord[] = [];
      let previous = 0n;
      for (let i = 0; i < count; i++) {
        const record = readRecord(rd, i);
        if (record.sequence <= previous) {
          throw new MalformedMessageError(
            `Invalid IndexBatch record ${i}: sequence ${record.sequence} not above ${previous}`,
          );
        }
        previous = record.sequence;
        records.push(record);
      }
      msg = { type: "index_batch", records, last } satisfies IndexBatch;
      break;
    }
    case MESSAGE_TYPE_CODES.index_ack:
      msg = {
        type: "index_ack",
        sequence: rd.varBigUint("IndexAck sequence", MAX_SEQUENCE),
      };
      break;
    case MESSAGE_TYPE_CODES.in_sync:
      msg = {
        type: "in_sync",
        sequence: rd.varBigUint("InSync sequence", MAX_SEQUENCE),
      };
      break;
    case MESSAGE_TYPE_CODES.group_rekey:
      msg = {
        type: "group_rekey",
        secret: rd.raw("GroupRekey secret", 32),
        removed: rd.raw("GroupRekey removed device", 32),
      };
      break;
    case MESSAGE_TYPE_CODES.availability: {
      const path = rd.string("Availability path", MAX_PATH_BYTES);
      const hash = rd.raw("Availability hash", HASH_SIZE);
      const count = rd.varUint(
        "Availability range count",
        MAX_AVAILABILITY_RANGES,
      );
      // Each range takes at least 2 bytes: fail before allocating.
      if (count * 2 > rd.remaining) {
        throw new MalformedMessageError(
          `Message truncated in Availability: ${count} ranges need at least ${
            count * 2
          } bytes, ${rd.remaining} left`,
        );
      }
      const ranges: ChunkRange[] = [];
      for (let i = 0; i < count; i++) {
        ranges.push({
          start: rd.varUint("Availability range start", MAX_CHUNKS_PER_RECORD),
          count: rd.varUint("Availability range count", MAX_CHUNKS_PER_RECORD),
        });
      }
      const availability: Availability = {
        type: "availability",
        path,
        hash,
        ranges,
      };
      checkAvailability(availability);
      msg = availability;
      break;
    }
    case MESSAGE_TYPE_CODES.index_diff:
      msg = readIndexDiff(rd);
      break;
    case MESSAGE_TYPE_CODES.record_request:
      msg = {
        type: "record_request",
        path: rd.string("RecordRequest path", MAX_PATH_BYTES),
      };
      checkRecordRequest(msg);
      break;
    case MESSAGE_TYPE_CODES.block_request:
      msg = readBlockRequest(rd);
      break;
    case MESSAGE_TYPE_CODES.block_response:
      msg = readBlockResponse(rd);
      break;
    case MESSAGE_TYPE_CODES.chunk_request: {
      const request: ChunkRequest = {
        type: "chunk_request",
        id: rd.varUint("ChunkRequest id", MAX_REQUEST_ID),
        path: rd.string("ChunkRequest path", MAX_PATH_BYTES),
        hash: rd.raw("ChunkRequest hash", HASH_SIZE),
        offset: rd.varUint("ChunkRequest offset", MAX_FILE_SIZE),
        length: rd.varUint("ChunkRequest length", MAX_CHUNK_SIZE),
      };
      checkChunkRequest(request);
      msg = request;
      break;
    }
    case MESSAGE_TYPE_CODES.chunk_response: {
      const id = rd.varUint("ChunkResponse id", MAX_REQUEST_ID);
      const statusCode = rd.u8("ChunkResponse status");
      const status = STATUSES[statusCode];
      if (status === undefined) {
        throw new MalformedMessageError(
          `Invalid ChunkResponse status byte ${statusCode}`,
        );
      }
      const compressionCode = rd.u8("ChunkResponse compression");
      const compression = COMPRESSIONS[compressionCode];
      if (compression === undefined) {
        throw new MalformedMessageError(
          `Invalid ChunkResponse compression byte ${compressionCode}`,
        );
      }
      const rawLength = rd.varUint("ChunkResponse raw length", MAX_CHUNK_SIZE);
      const data = rd.bytes("ChunkResponse data", MAX_CHUNK_SIZE);
      const response: ChunkResponse = {
        type: "chunk_response",
        id,
        status,
        compression,
        data,
        rawLength,
      };
      checkChunkResponse(response);
      msg = response;
      break;
    }
    default:
      throw new MalformedMessageError(`Unknown message type byte ${code}`);
  }
  rd.end(msg.type);
  return msg;
}

/**
 * Decodes and validates one message. Throws only `ProtocolError` subclasses:
 * `MalformedMessageError`, `LimitExceededError`, `InvalidPathError` or
 * `UnsupportedVersionError`.
 *
 * The result never aliases `bytes` (the caller may reuse its buffer), but its
 * byte fields (hashes, chunk data) are views into one private copy of the
 * message: `slice()` a hash kept long after the message, so one 32-byte
 * value does not pin a whole batch in memory.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  return decodeChecked(bytes, true);
}

/**
 * {@linkcode decodeMessage} for a buffer handed over for good: the result's
 * byte fields are views into `bytes`, which nobody may change afterwards.
 * Saves copying every received message (a 64 KiB chunk response each time).
 */
export function decodeOwnedMessage(bytes: Uint8Array): Message {
  return decodeChecked(bytes, false);
}

function decodeChecked(bytes: Uint8Array, copy: boolean): Message {
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedMessageError(`Message is not bytes: ${typeof bytes}`);
  }
  if (bytes.length > MAX_MESSAGE_SIZE) {
    throw new LimitExceededError(
      `Message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_SIZE}`,
    );
  }
  try {
    return decodeFrom(copy ? bytes.slice() : bytes);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new MalformedMessageError(`Cannot decode message: ${error}`, {
      cause: error,
    });
  }
}
