/**
 * Binary layout of index records, their version vectors and chunk lists,
 * and of `IndexDiff` (a record told as edits of the one before): the part
 * of the message codec (`codec.ts`) that records share. Layouts in
 * docs/PROTOCOL.md ("Message layouts"); every field is checked both ways.
 * @module
 */
import { decodedChunkList, PACKED_CHUNKS_FROM } from "./_decoded_chunk.ts";
import type { Reader } from "./_reader.ts";
import { checkIndexDiff, checkRecord } from "./_checks.ts";
import { utf8Length } from "./_utf8.ts";
import { varBigUintSize, varUintSize, zigzag } from "./_varint.ts";
import type { Writer } from "./_writer.ts";
import { MalformedMessageError } from "./errors.ts";
import {
  HASH_SIZE,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_PATH_BYTES,
  MAX_SEQUENCE,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_VERSION_COUNTER,
  MAX_VERSION_ENTRIES,
  U64_MAX,
} from "./limits.ts";
import type {
  IndexDiff,
  WireChunk,
  WireChunkEdit,
  WireFileRecord,
  WireKind,
  WireVersionEntry,
} from "./messages.ts";

const KINDS: readonly WireKind[] = ["file", "dir", "symlink"];
const KIND_CODES: Readonly<Record<WireKind, number>> = {
  file: 0,
  dir: 1,
  symlink: 2,
};

const FLAG_EXEC = 1;
const FLAG_DELETED = 2;
const EMPTY = new Uint8Array(0);

/** One record of an `IndexBatch`. */
export function writeRecord(w: Writer, r: WireFileRecord): void {
  w.string(r.path);
  w.u8(KIND_CODES[r.kind]);
  w.u8((r.exec ? FLAG_EXEC : 0) | (r.deleted ? FLAG_DELETED : 0));
  w.varUint(r.size);
  w.varZigzag64(r.mtimeNs);
  w.varBigUint(r.sequence);
  writeVersion(w, r.version);
  if (r.deleted || r.kind === "dir") return;
  w.raw(r.hash);
  if (r.kind === "file") {
    writeChunks(w, r.chunks);
  } else {
    w.string(r.symlinkTarget as string);
  }
}

/** An entry count, then each entry's replica and counter. */
export function writeVersion(
  w: Writer,
  version: readonly WireVersionEntry[],
): void {
  w.varUint(version.length);
  for (const entry of version) {
    w.varBigUint(entry.replica);
    w.varBigUint(entry.counter);
  }
}

/** A chunk count, then every length, then every hash. */
export function writeChunks(w: Writer, chunks: readonly WireChunk[]): void {
  w.varUint(chunks.length);
  for (const chunk of chunks) w.varUint(chunk.length);
  for (const chunk of chunks) w.raw(chunk.hash);
}

/** An `IndexDiff` after its type byte. */
export function writeIndexDiff(w: Writer, d: IndexDiff): void {
  w.u8(d.last ? 1 : 0);
  w.string(d.path);
  w.u8(d.exec ? FLAG_EXEC : 0);
  w.varUint(d.size);
  w.varZigzag64(d.mtimeNs);
  w.varBigUint(d.sequence);
  writeVersion(w, d.version);
  w.raw(d.hash);
  w.raw(d.baseHash);
  w.raw(d.listHash);
  w.varUint(d.chunkTotal);
  w.varUint(d.edits.length);
  for (const edit of d.edits) {
    w.varUint(edit.keep);
    w.varUint(edit.drop);
    w.varUint(edit.add);
  }
  writeChunks(w, d.added);
}

/**
 * Exact encoded size of a record inside an `IndexBatch` (for packing
 * batches under `MAX_MESSAGE_SIZE`; add `INDEX_BATCH_HEADER_BYTES` once).
 * Assumes a valid record.
 */
export function encodedRecordSize(r: WireFileRecord): number {
  const pathBytes = utf8Length(r.path);
  let size = varUintSize(pathBytes) + pathBytes + 2 + varUintSize(r.size) +
    varBigUintSize(zigzag(r.mtimeNs)) + varBigUintSize(r.sequence) +
    varUintSize(r.version.length);
  for (const entry of r.version) {
    size += varBigUintSize(entry.replica) + varBigUintSize(entry.counter);
  }
  if (r.deleted || r.kind === "dir") return size;
  size += HASH_SIZE;
  if (r.kind === "file") {
    size += varUintSize(r.chunks.length) + r.chunks.length * HASH_SIZE;
    for (const chunk of r.chunks) size += varUintSize(chunk.length);
  } else {
    const target = utf8Length(r.symlinkTarget ?? "");
    size += varUintSize(target) + target;
  }
  return size;
}

/** One record of an `IndexBatch`; `index` names it in errors. */
export function readRecord(rd: Reader, index: number): WireFileRecord {
  const path = rd.string("record path", MAX_PATH_BYTES);
  const kindCode = rd.u8("record kind");
  const kind = KINDS[kindCode];
  if (kind === undefined) {
    throw new MalformedMessageError(
      `Invalid IndexBatch record ${index}: kind byte ${kindCode}`,
    );
  }
  const flags = rd.u8("record flags");
  if ((flags & ~(FLAG_EXEC | FLAG_DELETED)) !== 0) {
    throw new MalformedMessageError(
      `Invalid IndexBatch record ${index}: flags byte ${flags}`,
    );
  }
  const exec = (flags & FLAG_EXEC) !== 0;
  const deleted = (flags & FLAG_DELETED) !== 0;
  const size = rd.varUint("record size", MAX_FILE_SIZE);
  const mtimeNs = rd.varZigzag64("record mtime");
  const sequence = rd.varBigUint("record sequence", MAX_SEQUENCE);
  const version = readVersion(rd, "record");
  let hash: Uint8Array = EMPTY;
  let chunks: WireChunk[] = [];
  let symlinkTarget: string | undefined;
  if (!deleted && kind !== "dir") {
    hash = rd.raw("record hash", HASH_SIZE);
    if (kind === "file") {
      chunks = readChunks(rd, `IndexBatch record ${index}`, "record chunk");
    } else {
      symlinkTarget = rd.string(
        "record symlink target",
        MAX_SYMLINK_TARGET_BYTES,
      );
    }
  }
  const record: WireFileRecord = {
    path,
    kind,
    size,
    mtimeNs,
    exec,
    hash,
    chunks,
    version,
    deleted,
    sequence,
    ...(symlinkTarget === undefined ? {} : { symlinkTarget }),
  };
  checkRecord(record, `IndexBatch record ${index}`);
  return record;
}

/** A version vector (see `writeVersion`); `what` names it in errors. */
export function readVersion(rd: Reader, what: string): WireVersionEntry[] {
  const count = rd.varUint(`${what} version count`, MAX_VERSION_ENTRIES);
  const version: WireVersionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const replica = rd.varBigUint(`${what} version replica`, U64_MAX);
    const counter = rd.varBigUint(
      `${what} version counter`,
      MAX_VERSION_COUNTER,
    );
    version.push({ replica, counter });
  }
  return version;
}

/** A chunk count, every length, every hash (see `writeChunks`). */
export function readChunks(rd: Reader, at: string, what: string): WireChunk[] {
  const count = rd.varUint(`${what} count`, MAX_CHUNKS_PER_RECORD);
  // Each chunk needs at least 33 more bytes: fail before allocating.
  if (count * (1 + HASH_SIZE) > rd.remaining) {
    throw new MalformedMessageError(
      `Message truncated in ${at}: ${count} chunks need at least ${
        count * (1 + HASH_SIZE)
      } bytes, ${rd.remaining} left`,
    );
  }
  const lengths = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    lengths[i] = rd.varUint(`${what} length`, MAX_CHUNK_SIZE);
  }
  const hashes = rd.raw(`${what} hashes`, count * HASH_SIZE);
  if (count > PACKED_CHUNKS_FROM) return decodedChunkList(lengths, hashes);
  const chunks: WireChunk[] = [];
  for (let i = 0, at = 0; i < count; i++, at += HASH_SIZE) {
    chunks.push({
      length: lengths[i]!,
      hash: hashes.subarray(at, at + HASH_SIZE),
    });
  }
  return chunks;
}

/** An `IndexDiff` after its type byte. */
export function readIndexDiff(rd: Reader): IndexDiff {
  const last = rd.bool("IndexDiff last");
  const path = rd.string("IndexDiff path", MAX_PATH_BYTES);
  const flags = rd.u8("IndexDiff flags");
  if ((flags & ~FLAG_EXEC) !== 0) {
    throw new MalformedMessageError(`Invalid IndexDiff flags byte ${flags}`);
  }
  const size = rd.varUint("IndexDiff size", MAX_FILE_SIZE);
  const mtimeNs = rd.varZigzag64("IndexDiff mtime");
  const sequence = rd.varBigUint("IndexDiff sequence", MAX_SEQUENCE);
  const version = readVersion(rd, "IndexDiff");
  const hash = rd.raw("IndexDiff hash", HASH_SIZE);
  const baseHash = rd.raw("IndexDiff base hash", HASH_SIZE);
  const listHash = rd.raw("IndexDiff list hash", HASH_SIZE);
  const chunkTotal = rd.varUint("IndexDiff chunk total", MAX_CHUNKS_PER_RECORD);
  const editCount = rd.varUint("IndexDiff edit count", MAX_CHUNKS_PER_RECORD);
  // Each edit takes at least 3 bytes: fail before allocating.
  if (editCount * 3 > rd.remaining) {
    throw new MalformedMessageError(
      `Message truncated in IndexDiff: ${editCount} edits need at least ${
        editCount * 3
      } bytes, ${rd.remaining} left`,
    );
  }
  const edits: WireChunkEdit[] = [];
  for (let i = 0; i < editCount; i++) {
    edits.push({
      keep: rd.varUint("IndexDiff edit keep", MAX_CHUNKS_PER_RECORD),
      drop: rd.varUint("IndexDiff edit drop", MAX_CHUNKS_PER_RECORD),
      add: rd.varUint("IndexDiff edit add", MAX_CHUNKS_PER_RECORD),
    });
  }
  const added = readChunks(rd, "IndexDiff", "IndexDiff added");
  const diff: IndexDiff = {
    type: "index_diff",
    last,
    path,
    exec: flags === FLAG_EXEC,
    size,
    mtimeNs,
    sequence,
    version,
    hash,
    baseHash,
    listHash,
    chunkTotal,
    edits,
    added,
  };
  checkIndexDiff(diff);
  return diff;
}
