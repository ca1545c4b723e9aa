/**
 * docs/PROTOCOL.md against the codec: the page's "Message layouts" tables
 * drive a decoder and an encoder of their own (tests/protocol/_wire_doc.ts),
 * which must read what the codec writes, write what the codec reads, refuse
 * what it refuses, and name the codec's type bytes and limits.
 */
import {
  BLOCK_SIGNATURE_SIZE,
  decodeMessage,
  encodeMessage,
  HASH_SIZE,
  MAX_AVAILABILITY_RANGES,
  MAX_BLOCKS_PER_CHUNK,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_MTIME_NS,
  MAX_PATH_BYTES,
  MAX_PEER_NAME_BYTES,
  MAX_RECORDS_PER_BATCH,
  MAX_REQUEST_ID,
  MAX_SEQUENCE,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_VERSION_COUNTER,
  MAX_VERSION_ENTRIES,
  type Message,
  MESSAGE_TYPE_CODES,
  MIN_MTIME_NS,
  PROTOCOL_VERSION,
  ProtocolError,
  U64_MAX,
  type WireFileRecord,
} from "../../src/protocol/mod.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  deletedRecord,
  dirRecord,
  fileRecord,
  hashOf,
  indexDiff,
  sampleMessages,
  symlinkRecord,
} from "./_fixtures.ts";
import { parseLayouts, typeTagOf, WireDoc } from "./_wire_doc.ts";

const doc = new WireDoc(
  parseLayouts(
    await Deno.readTextFile(
      new URL("../../docs/PROTOCOL.md", import.meta.url),
    ),
  ),
);

/** Representative values of every message type, edges included. */
function goldenMessages(): Message[] {
  return [
    ...sampleMessages(),
    {
      type: "hello",
      protocolVersion: 2,
      replicaId: 0x1_0000_0000_0000n,
      name: "Gästebuch-PC ☃",
      caseInsensitive: false,
      posixNames: false,
      swarming: false,
      recordDiffs: false,
      blockDeltas: false,
    },
    {
      type: "index_batch",
      last: true,
      records: [
        fileRecord({
          path: "bin/tool 😀",
          exec: true,
          sequence: 1n,
          mtimeNs: MIN_MTIME_NS,
          version: [
            { replica: 0n, counter: MAX_VERSION_COUNTER },
            { replica: U64_MAX, counter: 1n },
          ],
        }),
        deletedRecord("dir", { sequence: 2n, mtimeNs: MAX_MTIME_NS }),
        deletedRecord("symlink", { sequence: 3n }),
        symlinkRecord({ sequence: 4n, symlinkTarget: "../ünïcode/target" }),
        dirRecord({ sequence: MAX_SEQUENCE }),
      ],
    },
    { type: "index_ack", sequence: MAX_SEQUENCE },
    { type: "in_sync", sequence: 0n },
    {
      type: "chunk_request",
      id: MAX_REQUEST_ID,
      path: "a/b/c.txt",
      hash: hashOf(4),
      offset: MAX_FILE_SIZE - MAX_CHUNK_SIZE,
      length: MAX_CHUNK_SIZE,
    },
    {
      type: "chunk_response",
      id: 0,
      status: "not_found",
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    },
    {
      type: "chunk_response",
      id: 300,
      status: "refused",
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    },
    {
      type: "group_rekey",
      secret: hashOf(11),
      removed: hashOf(12),
    },
    {
      type: "availability",
      path: "ü/ß.bin",
      hash: hashOf(13),
      ranges: [
        { start: 0, count: 1 },
        { start: 2, count: 127 },
        { start: MAX_CHUNKS_PER_RECORD - 1, count: 1 },
      ],
    },
  ];
}

/** The in-memory shape of a record the page says ends early: empty hash, no chunks. */
function asMessage(decoded: Record<string, unknown>): Message {
  if (decoded.type !== "index_batch") return decoded as unknown as Message;
  const records = (decoded.records as Record<string, unknown>[] | undefined) ??
    [];
  return {
    ...decoded,
    records: records.map((r) => ({
      ...r,
      hash: r.hash ?? new Uint8Array(0),
      chunks: r.chunks ?? [],
    })),
  } as unknown as Message;
}

Deno.test("docs/PROTOCOL.md lays out every message type with the codec's type byte", () => {
  const fromDoc = Object.fromEntries(
    doc.messages().map((l) => [typeTagOf(l.title), l.typeByte]),
  );
  assertEquals(fromDoc, { ...MESSAGE_TYPE_CODES });
  doc.layout("File record");
});

Deno.test("docs/PROTOCOL.md gives the codec's limits for every bounded field", () => {
  const expected: Record<string, [bigint, bigint]> = {
    "Hello.protocolVersion": [
      BigInt(PROTOCOL_VERSION),
      BigInt(PROTOCOL_VERSION),
    ],
    "Hello.replicaId": [0n, U64_MAX],
    "Hello.name": [0n, BigInt(MAX_PEER_NAME_BYTES)],
    "IndexBatch.recordCount": [0n, BigInt(MAX_RECORDS_PER_BATCH)],
    "IndexAck.sequence": [0n, MAX_SEQUENCE],
    "InSync.sequence": [0n, MAX_SEQUENCE],
    "ChunkRequest.id": [0n, BigInt(MAX_REQUEST_ID)],
    "ChunkRequest.path": [1n, BigInt(MAX_PATH_BYTES)],
    "ChunkRequest.offset": [0n, BigInt(MAX_FILE_SIZE)],
    "ChunkRequest.length": [1n, BigInt(MAX_CHUNK_SIZE)],
    "ChunkResponse.id": [0n, BigInt(MAX_REQUEST_ID)],
    "ChunkResponse.rawLength": [0n, BigInt(MAX_CHUNK_SIZE)],
    "ChunkResponse.data": [0n, BigInt(MAX_CHUNK_SIZE)],
    "Availability.path": [1n, BigInt(MAX_PATH_BYTES)],
    "Availability.rangeCount": [0n, BigInt(MAX_AVAILABILITY_RANGES)],
    "Availability.ranges.start": [0n, BigInt(MAX_CHUNKS_PER_RECORD - 1)],
    "Availability.ranges.count": [1n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.path": [1n, BigInt(MAX_PATH_BYTES)],
    "IndexDiff.size": [0n, BigInt(MAX_FILE_SIZE)],
    "IndexDiff.mtimeNs": [MIN_MTIME_NS, MAX_MTIME_NS],
    "IndexDiff.sequence": [1n, MAX_SEQUENCE],
    "IndexDiff.versionCount": [1n, BigInt(MAX_VERSION_ENTRIES)],
    "IndexDiff.version.replica": [0n, U64_MAX],
    "IndexDiff.version.counter": [1n, MAX_VERSION_COUNTER],
    "IndexDiff.chunkTotal": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.editCount": [1n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.edits.keep": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.edits.drop": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.edits.add": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.addedCount": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "IndexDiff.added.length": [1n, BigInt(MAX_CHUNK_SIZE)],
    "RecordRequest.path": [1n, BigInt(MAX_PATH_BYTES)],
    "BlockRequest.id": [0n, BigInt(MAX_REQUEST_ID)],
    "BlockRequest.path": [1n, BigInt(MAX_PATH_BYTES)],
    "BlockRequest.offset": [0n, BigInt(MAX_FILE_SIZE)],
    "BlockRequest.length": [1n, BigInt(MAX_CHUNK_SIZE)],
    "BlockRequest.signatures": [
      BigInt(BLOCK_SIGNATURE_SIZE),
      BigInt(MAX_BLOCKS_PER_CHUNK * BLOCK_SIGNATURE_SIZE),
    ],
    "BlockResponse.id": [0n, BigInt(MAX_REQUEST_ID)],
    "BlockResponse.bitmap": [0n, BigInt(MAX_BLOCKS_PER_CHUNK / 8)],
    "BlockResponse.rawLength": [0n, BigInt(MAX_CHUNK_SIZE)],
    "BlockResponse.data": [0n, BigInt(MAX_CHUNK_SIZE)],
    "File record.path": [1n, BigInt(MAX_PATH_BYTES)],
    "File record.size": [0n, BigInt(MAX_FILE_SIZE)],
    "File record.mtimeNs": [MIN_MTIME_NS, MAX_MTIME_NS],
    "File record.sequence": [1n, MAX_SEQUENCE],
    "File record.versionCount": [1n, BigInt(MAX_VERSION_ENTRIES)],
    "File record.version.replica": [0n, U64_MAX],
    "File record.version.counter": [1n, MAX_VERSION_COUNTER],
    "File record.chunkCount": [0n, BigInt(MAX_CHUNKS_PER_RECORD)],
    "File record.chunks.length": [1n, BigInt(MAX_CHUNK_SIZE)],
    "File record.symlinkTarget": [1n, BigInt(MAX_SYMLINK_TARGET_BYTES)],
  };
  const fromDoc: Record<string, [bigint, bigint]> = {};
  for (const layout of doc.layouts) {
    for (const row of layout.rows) {
      if (row.encoding.kind === "raw") {
        assertEquals(row.encoding.length, HASH_SIZE, row.name);
      }
      if (row.min !== undefined && row.max !== undefined) {
        fromDoc[`${layout.title}.${row.name}`] = [row.min, row.max];
      }
    }
  }
  assertEquals(fromDoc, expected);
});

Deno.test("the layouts of docs/PROTOCOL.md decode what encodeMessage() writes", () => {
  for (const msg of goldenMessages()) {
    const decoded = doc.decode(encodeMessage(msg));
    assertEquals(asMessage(decoded), msg, msg.type);
  }
});

Deno.test("decodeMessage() reads what the layouts of docs/PROTOCOL.md write, byte for byte", () => {
  for (const msg of goldenMessages()) {
    const bytes = doc.encode(msg as unknown as Record<string, unknown>);
    assertEquals(bytes, encodeMessage(msg), msg.type);
    assertEquals(decodeMessage(bytes), msg, msg.type);
  }
});

Deno.test("the layouts of docs/PROTOCOL.md and decodeMessage() refuse the same broken bytes", () => {
  const record = (over: Partial<WireFileRecord>) =>
    doc.encode({
      type: "index_batch",
      last: true,
      records: [fileRecord(over)],
    });
  const ack = [...encodeMessage({ type: "index_ack", sequence: 5n })];
  const hello = [
    ...encodeMessage({
      type: "hello",
      protocolVersion: 2,
      replicaId: 1n,
      name: "x",
      caseInsensitive: false,
      posixNames: false,
      swarming: false,
      recordDiffs: false,
      blockDeltas: false,
    }),
  ];
  const response = [
    ...encodeMessage({
      type: "chunk_response",
      id: 1,
      status: "changed",
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    }),
  ];
  const availability = (ranges: { start: number; count: number }[]) =>
    doc.encode({ type: "availability", path: "f", hash: hashOf(1), ranges });
  const broken: [string, Uint8Array][] = [
    ["Availability range of 0 chunks", availability([{ start: 3, count: 0 }])],
    ["unknown type byte", new Uint8Array([13, 0])],
    ["trailing byte", new Uint8Array([...ack, 0])],
    ["truncated", new Uint8Array(ack.slice(0, 1))],
    ["non-canonical varint", new Uint8Array([3, 0x85, 0x00])],
    [
      "64-bit varint over 10 bytes",
      new Uint8Array([3, ...Array(10).fill(0xff), 1]),
    ],
    [
      "sequence above 2^63 - 1",
      doc.encode({ type: "index_ack", sequence: 1n << 63n }),
    ],
    ["Hello version 3", new Uint8Array([1, 3, ...hello.slice(2)])],
    ["Hello flag bit 5", new Uint8Array([...hello.slice(0, -1), 32])],
    [
      "BlockRequest with no signatures",
      doc.encode({
        type: "block_request",
        id: 1,
        path: "f",
        hash: hashOf(1),
        offset: 0,
        length: 4097,
        signatures: new Uint8Array(0),
      }),
    ],
    [
      "BlockResponse bitmap of 9 bytes",
      doc.encode({
        type: "block_response",
        id: 1,
        status: "ok",
        compression: "none",
        bitmap: new Uint8Array(9),
        rawLength: 0,
        data: new Uint8Array(0),
      }),
    ],
    ["IndexDiff with no edits", doc.encode({ ...indexDiff(), edits: [] })],
    ["bool byte 2", new Uint8Array([2, 2, 0])],
    [
      "status byte 4",
      new Uint8Array([5, response[1]!, 4, ...response.slice(3)]),
    ],
    ["record path too long", record({ path: "a".repeat(MAX_PATH_BYTES + 1) })],
    ["record with no version", record({ version: [] })],
    ["record counter 0", record({ version: [{ replica: 1n, counter: 0n }] })],
    [
      "record chunk of length 0",
      record({ size: 0, chunks: [{ length: 0, hash: hashOf(1) }] }),
    ],
    [
      "name of 64 bytes",
      doc.encode({
        type: "hello",
        protocolVersion: 2,
        replicaId: 0n,
        name: "n".repeat(64),
        caseInsensitive: false,
        posixNames: false,
        swarming: false,
        recordDiffs: false,
        blockDeltas: false,
      }),
    ],
  ];
  for (const [what, bytes] of broken) {
    assertThrows(
      () => decodeMessage(bytes),
      ProtocolError,
      undefined,
      `codec: ${what}`,
    );
    let refused = false;
    try {
      doc.decode(bytes);
    } catch {
      refused = true;
    }
    assert(refused, `docs/PROTOCOL.md layouts accept ${what}`);
  }
});
