/**
 * Semantic checks shared by the encoder (before sending) and the decoder
 * (after parsing), so both ends hold messages to the same rules.
 */
import {
  InvalidPathError,
  LimitExceededError,
  MalformedMessageError,
  UnsupportedVersionError,
} from "./errors.ts";
import {
  HASH_SIZE,
  MAX_AVAILABILITY_RANGES,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_MTIME_NS,
  MAX_PEER_NAME_BYTES,
  MAX_RECORDS_PER_BATCH,
  MAX_REQUEST_ID,
  MAX_SEQUENCE,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_VERSION_COUNTER,
  MAX_VERSION_ENTRIES,
  MIN_MTIME_NS,
  PROTOCOL_VERSION,
  U64_MAX,
} from "./limits.ts";
import type {
  Availability,
  ChunkRequest,
  ChunkResponse,
  Hello,
  IndexBatch,
  IndexDiff,
  RecordRequest,
  WireFileRecord,
  WireVersionEntry,
} from "./messages.ts";
import { wirePathProblem } from "./wire_path.ts";
import { DecodedChunk } from "./_decoded_chunk.ts";
import { utf8Length } from "./_utf8.ts";

function malformed(message: string): never {
  throw new MalformedMessageError(message);
}

function tooLarge(message: string): never {
  throw new LimitExceededError(message);
}

/** A safe integer in [min, max]; `max` violations are limit errors. */
export function checkInt(
  what: string,
  v: number,
  min: number,
  max: number,
): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    malformed(`Invalid ${what}: ${String(v)} is not an integer >= ${min}`);
  }
  if (v > max) tooLarge(`Invalid ${what}: ${v} exceeds ${max}`);
}

/** A bigint in [min, max]; `max` violations are limit errors. */
export function checkBigInt(
  what: string,
  v: bigint,
  min: bigint,
  max: bigint,
): void {
  if (typeof v !== "bigint" || v < min) {
    malformed(`Invalid ${what}: ${String(v)} is not a bigint >= ${min}`);
  }
  if (v > max) tooLarge(`Invalid ${what}: ${v} exceeds ${max}`);
}

function checkBool(what: string, v: boolean): void {
  if (typeof v !== "boolean") malformed(`Invalid ${what}: not a boolean`);
}

/** A `Uint8Array` of exactly `length` bytes. */
export function checkHash(what: string, v: Uint8Array, length: number): void {
  if (!(v instanceof Uint8Array) || v.length !== length) {
    malformed(
      `Invalid ${what}: expected ${length} bytes, got ${
        v instanceof Uint8Array ? v.length : typeof v
      }`,
    );
  }
}

/** A well-formed string of minBytes..maxBytes UTF-8 bytes without the given controls. */
function checkText(
  what: string,
  s: string,
  minBytes: number,
  maxBytes: number,
  refuseC1: boolean,
): void {
  if (typeof s !== "string") malformed(`Invalid ${what}: not a string`);
  if (!s.isWellFormed()) {
    malformed(`Invalid ${what} ${JSON.stringify(s)}: not well-formed Unicode`);
  }
  const bytes = utf8Length(s);
  if (bytes < minBytes) malformed(`Invalid ${what}: empty`);
  if (bytes > maxBytes) {
    tooLarge(`Invalid ${what}: ${bytes} bytes exceeds ${maxBytes}`);
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (refuseC1 && c >= 0x80 && c <= 0x9f)) {
      malformed(
        `Invalid ${what} ${JSON.stringify(s)}: control character U+${
          c.toString(16).padStart(4, "0").toUpperCase()
        }`,
      );
    }
  }
}

/** Path check that tags the error with where the path was found. */
export function checkPath(what: string, path: string): void {
  // The wire carries every name some peer's file system can hold; the
  // receiver refuses what its own cannot (see `wire_path.ts`).
  const problem = wirePathProblem(path, "posix");
  if (problem !== null) {
    throw new InvalidPathError(
      typeof path === "string" ? path : typeof path,
      problem,
      what,
    );
  }
}

export function checkHello(msg: Hello): void {
  if (msg.protocolVersion !== PROTOCOL_VERSION) {
    const v: unknown = msg.protocolVersion;
    if (typeof v === "number") throw new UnsupportedVersionError(v);
    malformed(`Invalid Hello: protocol version ${String(v)}`);
  }
  checkBigInt("Hello replica id", msg.replicaId, 0n, U64_MAX);
  checkText("Hello name", msg.name, 0, MAX_PEER_NAME_BYTES, true);
  checkBool("Hello caseInsensitive", msg.caseInsensitive);
  checkBool("Hello posixNames", msg.posixNames);
  checkBool("Hello swarming", msg.swarming);
  checkBool("Hello recordDiffs", msg.recordDiffs);
}

/** A version vector: 1 to 256 entries, replicas strictly increasing. */
function checkVersion(
  at: string,
  version: readonly WireVersionEntry[],
): void {
  if (!Array.isArray(version)) malformed(`Invalid ${at} version: not an array`);
  if (version.length === 0) malformed(`Invalid ${at} version: empty`);
  if (version.length > MAX_VERSION_ENTRIES) {
    tooLarge(
      `Invalid ${at} version: ${version.length} entries exceeds ${MAX_VERSION_ENTRIES}`,
    );
  }
  let previous = -1n;
  for (const entry of version) {
    checkBigInt(`${at} version replica`, entry.replica, 0n, U64_MAX);
    checkBigInt(
      `${at} version counter`,
      entry.counter,
      1n,
      MAX_VERSION_COUNTER,
    );
    if (entry.replica <= previous) {
      malformed(
        `Invalid ${at} version: replica ${entry.replica} not in strictly increasing order`,
      );
    }
    previous = entry.replica;
  }
}

function checkMtime(at: string, mtimeNs: bigint): void {
  if (typeof mtimeNs !== "bigint") {
    malformed(`Invalid ${at} mtime: not a bigint`);
  }
  if (mtimeNs < MIN_MTIME_NS || mtimeNs > MAX_MTIME_NS) {
    tooLarge(
      `Invalid ${at} mtime: ${mtimeNs} is outside the signed 64-bit range`,
    );
  }
}

/** Checks one record; `at` names it in messages ("record 3"). */
export function checkRecord(r: WireFileRecord, at: string): void {
  if (typeof r !== "object" || r === null) {
    malformed(`Invalid ${at}: not an object`);
  }
  checkPath(at, r.path);
  const kind = r.kind;
  if (kind !== "file" && kind !== "dir" && kind !== "symlink") {
    malformed(`Invalid ${at} kind ${JSON.stringify(kind)}`);
  }
  checkBool(`${at} exec`, r.exec);
  checkBool(`${at} deleted`, r.deleted);
  checkInt(`${at} size`, r.size, 0, MAX_FILE_SIZE);
  checkMtime(at, r.mtimeNs);
  checkBigInt(`${at} sequence`, r.sequence, 1n, MAX_SEQUENCE);
  if (r.exec && kind !== "file") {
    malformed(`Invalid ${at}: exec set on a ${kind}`);
  }

  checkVersion(at, r.version);

  const live = !r.deleted;
  checkHash(`${at} hash`, r.hash, live && kind !== "dir" ? HASH_SIZE : 0);

  const chunks = r.chunks;
  if (!Array.isArray(chunks)) malformed(`Invalid ${at} chunks: not an array`);
  if (kind === "file" && live) {
    if (chunks.length > MAX_CHUNKS_PER_RECORD) {
      tooLarge(
        `Invalid ${at}: ${chunks.length} chunks exceeds ${MAX_CHUNKS_PER_RECORD}`,
      );
    }
    let sum = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as WireFileRecord["chunks"][number];
      checkInt(`${at} chunk ${i} length`, chunk.length, 1, MAX_CHUNK_SIZE);
      if (!(chunk instanceof DecodedChunk)) {
        checkHash(`${at} chunk ${i} hash`, chunk.hash, HASH_SIZE);
      }
      sum += chunk.length;
    }
    if (sum !== r.size) {
      malformed(
        `Invalid ${at}: chunk lengths sum to ${sum}, size is ${r.size}`,
      );
    }
  } else {
    if (chunks.length !== 0) {
      malformed(
        `Invalid ${at}: a ${
          r.deleted ? "deleted record" : kind
        } has no chunks, got ${chunks.length}`,
      );
    }
    if (r.size !== 0) {
      malformed(
        `Invalid ${at}: a ${
          r.deleted ? "deleted record" : kind
        } has size 0, got ${r.size}`,
      );
    }
  }

  if (kind === "symlink" && live) {
    checkText(
      `${at} symlink target`,
      r.symlinkTarget as string,
      1,
      MAX_SYMLINK_TARGET_BYTES,
      false,
    );
  } else if (r.symlinkTarget !== undefined) {
    malformed(`Invalid ${at}: only a live symlink has a target`);
  }
}

export function checkBatch(msg: IndexBatch): void {
  checkBool("IndexBatch last", msg.last);
  const records = msg.records;
  if (!Array.isArray(records)) {
    malformed("Invalid IndexBatch records: not an array");
  }
  if (records.length > MAX_RECORDS_PER_BATCH) {
    tooLarge(
      `Invalid IndexBatch: ${records.length} records exceeds ${MAX_RECORDS_PER_BATCH}`,
    );
  }
  let previous = 0n;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as WireFileRecord;
    checkRecord(record, `IndexBatch record ${i}`);
    if (record.sequence <= previous) {
      malformed(
        `Invalid IndexBatch record ${i}: sequence ${record.sequence} not above ${previous}`,
      );
    }
    previous = record.sequence;
  }
}

export function checkChunkRequest(msg: ChunkRequest): void {
  checkInt("ChunkRequest id", msg.id, 0, MAX_REQUEST_ID);
  checkPath("ChunkRequest", msg.path);
  checkHash("ChunkRequest hash", msg.hash, HASH_SIZE);
  checkInt("ChunkRequest offset", msg.offset, 0, MAX_FILE_SIZE);
  checkInt("ChunkRequest length", msg.length, 1, MAX_CHUNK_SIZE);
  if (msg.offset + msg.length > MAX_FILE_SIZE) {
    tooLarge(
      `Invalid ChunkRequest: offset ${msg.offset} + length ${msg.length} exceeds ${MAX_FILE_SIZE}`,
    );
  }
}

export function checkChunkResponse(msg: ChunkResponse): void {
  checkInt("ChunkResponse id", msg.id, 0, MAX_REQUEST_ID);
  const { status, compression, data, rawLength } = msg;
  if (
    status !== "ok" && status !== "changed" && status !== "not_found" &&
    status !== "refused"
  ) {
    malformed(`Invalid ChunkResponse status ${JSON.stringify(status)}`);
  }
  if (compression !== "none" && compression !== "lz4") {
    malformed(
      `Invalid ChunkResponse compression ${JSON.stringify(compression)}`,
    );
  }
  if (!(data instanceof Uint8Array)) {
    malformed("Invalid ChunkResponse data: not bytes");
  }
  if (status !== "ok") {
    if (compression !== "none" || data.length !== 0 || rawLength !== 0) {
      malformed(
        `Invalid ChunkResponse: status ${status} carries no data, got compression ${compression}, ${data.length} bytes, raw length ${rawLength}`,
      );
    }
    return;
  }
  checkInt("ChunkResponse raw length", rawLength, 1, MAX_CHUNK_SIZE);
  if (compression === "none") {
    if (data.length !== rawLength) {
      malformed(
        `Invalid ChunkResponse: ${data.length} uncompressed bytes, raw length ${rawLength}`,
      );
    }
  } else if (data.length === 0 || data.length >= rawLength) {
    malformed(
      `Invalid ChunkResponse: LZ4 data of ${data.length} bytes for raw length ${rawLength} (must be 1 to raw length - 1)`,
    );
  }
}

/**
 * An `Availability`: a wire path, a 32-byte hash, and at most
 * `MAX_AVAILABILITY_RANGES` ranges of chunk indexes below
 * `MAX_CHUNKS_PER_RECORD`, each of 1 or more, sorted with a gap between
 * neighbours (one encoding per set of indexes).
 */
export function checkAvailability(msg: Availability): void {
  checkPath("Availability", msg.path);
  checkHash("Availability hash", msg.hash, HASH_SIZE);
  if (!Array.isArray(msg.ranges)) malformed("Invalid Availability ranges");
  if (msg.ranges.length > MAX_AVAILABILITY_RANGES) {
    tooLarge(
      `Invalid Availability: ${msg.ranges.length} ranges exceed ${MAX_AVAILABILITY_RANGES}`,
    );
  }
  let end = -1;
  for (const range of msg.ranges) {
    checkInt(
      "Availability range start",
      range.start,
      0,
      MAX_CHUNKS_PER_RECORD - 1,
    );
    checkInt("Availability range count", range.count, 1, MAX_CHUNKS_PER_RECORD);
    if (range.start <= end) {
      malformed(
        `Invalid Availability: range at ${range.start} overlaps or touches the one ending at ${
          end - 1
        }`,
      );
    }
    end = range.start + range.count;
    if (end > MAX_CHUNKS_PER_RECORD) {
      tooLarge(
        `Invalid Availability: range ${range.start} + ${range.count} exceeds ${MAX_CHUNKS_PER_RECORD} chunks`,
      );
    }
  }
}

/**
 * An `IndexDiff`: the record's own fields as for a live file, three 32-byte
 * hashes, and edits that fit together: every edit drops or adds something,
 * every edit after the first keeps something (one encoding per change), the
 * edits add exactly the `added` chunks, and neither the new list nor the
 * base it implies has more than `MAX_CHUNKS_PER_RECORD` chunks. Whether the
 * rebuilt list matches is for the receiver's base to show.
 */
export function checkIndexDiff(msg: IndexDiff): void {
  const at = "IndexDiff";
  checkBool(`${at} last`, msg.last);
  checkPath(at, msg.path);
  checkBool(`${at} exec`, msg.exec);
  checkInt(`${at} size`, msg.size, 0, MAX_FILE_SIZE);
  checkMtime(at, msg.mtimeNs);
  checkBigInt(`${at} sequence`, msg.sequence, 1n, MAX_SEQUENCE);
  checkVersion(at, msg.version);
  checkHash(`${at} hash`, msg.hash, HASH_SIZE);
  checkHash(`${at} base hash`, msg.baseHash, HASH_SIZE);
  checkHash(`${at} list hash`, msg.listHash, HASH_SIZE);
  checkInt(`${at} chunk total`, msg.chunkTotal, 0, MAX_CHUNKS_PER_RECORD);
  const { edits, added } = msg;
  if (!Array.isArray(edits)) malformed(`Invalid ${at} edits: not an array`);
  if (!Array.isArray(added)) malformed(`Invalid ${at} added: not an array`);
  checkInt(`${at} edit count`, edits.length, 1, MAX_CHUNKS_PER_RECORD);
  checkInt(`${at} added count`, added.length, 0, MAX_CHUNKS_PER_RECORD);
  let kept = 0;
  let dropped = 0;
  let adds = 0;
  for (let i = 0; i < edits.length; i++) {
    const edit = edits[i]!;
    checkInt(`${at} edit ${i} keep`, edit.keep, 0, MAX_CHUNKS_PER_RECORD);
    checkInt(`${at} edit ${i} drop`, edit.drop, 0, MAX_CHUNKS_PER_RECORD);
    checkInt(`${at} edit ${i} add`, edit.add, 0, MAX_CHUNKS_PER_RECORD);
    if (edit.drop + edit.add === 0) {
      malformed(`Invalid ${at} edit ${i}: drops and adds nothing`);
    }
    if (i > 0 && edit.keep === 0) {
      malformed(`Invalid ${at} edit ${i}: keeps nothing after edit ${i - 1}`);
    }
    kept += edit.keep;
    dropped += edit.drop;
    adds += edit.add;
  }
  if (adds !== added.length) {
    malformed(
      `Invalid ${at}: edits add ${adds} chunks, ${added.length} are given`,
    );
  }
  const tail = msg.chunkTotal - kept - adds;
  if (tail < 0) {
    malformed(
      `Invalid ${at}: edits keep ${kept} and add ${adds} chunks, more than the ${msg.chunkTotal} of the list`,
    );
  }
  if (kept + dropped + tail > MAX_CHUNKS_PER_RECORD) {
    tooLarge(
      `Invalid ${at}: a base of ${
        kept + dropped + tail
      } chunks exceeds ${MAX_CHUNKS_PER_RECORD}`,
    );
  }
  let bytes = 0;
  for (let i = 0; i < added.length; i++) {
    const chunk = added[i]!;
    checkInt(`${at} added ${i} length`, chunk.length, 1, MAX_CHUNK_SIZE);
    if (!(chunk instanceof DecodedChunk)) {
      checkHash(`${at} added ${i} hash`, chunk.hash, HASH_SIZE);
    }
    bytes += chunk.length;
  }
  if (bytes > msg.size) {
    malformed(
      `Invalid ${at}: added chunks of ${bytes} bytes exceed the size ${msg.size}`,
    );
  }
}

export function checkRecordRequest(msg: RecordRequest): void {
  checkPath("RecordRequest", msg.path);
}
