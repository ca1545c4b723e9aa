import {
  checkResponseMatchesRequest,
  type ChunkRequest,
  type ChunkResponse,
  decodeMessage,
  decodeOwnedMessage,
  encodedRecordSize,
  encodeMessage,
  encodeMessageParts,
  INDEX_BATCH_HEADER_BYTES,
  type IndexBatch,
  InvalidPathError,
  LimitExceededError,
  MalformedMessageError,
  MAX_CHUNKS_PER_RECORD,
  MAX_MESSAGE_SIZE,
  MAX_MTIME_NS,
  MAX_RECORDS_PER_BATCH,
  MAX_SEQUENCE,
  type Message,
  MIN_MTIME_NS,
  ProtocolError,
  U64_MAX,
  UnsupportedVersionError,
  type WireFileRecord,
} from "../../src/protocol/mod.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  bigBatch,
  Bytes,
  deletedRecord,
  dirRecord,
  fileRecord,
  hashOf,
  indexDiff,
  prng,
  sampleMessages,
  specEncode,
  symlinkRecord,
} from "./_fixtures.ts";

function roundTrip(msg: Message): Uint8Array {
  const bytes = encodeMessage(msg);
  const decoded = decodeMessage(bytes);
  assertEquals(decoded, msg);
  assertEquals(encodeMessage(decoded), bytes);
  return bytes;
}

function batch(...records: WireFileRecord[]): IndexBatch {
  return { type: "index_batch", records, last: true };
}

Deno.test("encodeMessage() round-trips every sample message", () => {
  for (const msg of sampleMessages()) roundTrip(msg);
});

Deno.test("encodeMessage() matches the documented byte layout", () => {
  for (const msg of sampleMessages()) {
    assertEquals(encodeMessage(msg), specEncode(msg), msg.type);
  }
  // Hello: type 1, version 1, replica 300 = AC 02, name "hi", flags 1.
  assertEquals(
    [
      ...encodeMessage({
        type: "hello",
        protocolVersion: 2,
        replicaId: 300n,
        name: "hi",
        caseInsensitive: true,
        posixNames: false,
        swarming: false,
        recordDiffs: false,
        blockDeltas: false,
      }),
    ],
    [1, 2, 0xac, 0x02, 2, 0x68, 0x69, 1],
  );
  // IndexAck of 2^63 - 1: eight 0xff groups, then 0x7f.
  assertEquals(
    [...encodeMessage({ type: "index_ack", sequence: MAX_SEQUENCE })],
    [3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
  );
  // A dir: path, kind 1, flags 0, size 0, mtime -1 zigzag 1, sequence 5,
  // one version entry (replica 2, counter 3), nothing after.
  assertEquals(
    [
      ...encodeMessage(batch(dirRecord({
        path: "d",
        mtimeNs: -1n,
        sequence: 5n,
        version: [{ replica: 2n, counter: 3n }],
      }))),
    ],
    [2, 1, 1, 1, 0x64, 1, 0, 0, 1, 5, 1, 2, 3],
  );
});

Deno.test("encodeMessage() round-trips edge values", () => {
  const fullVersion = Array.from({ length: 256 }, (_, i) => ({
    replica: U64_MAX - 255n + BigInt(i),
    counter: MAX_SEQUENCE,
  }));
  roundTrip(batch(
    fileRecord({ path: "empty", size: 0, chunks: [], sequence: 1n }),
    fileRecord({ path: "neg", mtimeNs: -1_234_567_890_123n, sequence: 2n }),
    fileRecord({ path: "min", mtimeNs: MIN_MTIME_NS, sequence: 3n }),
    fileRecord({ path: "max", mtimeNs: MAX_MTIME_NS, sequence: 4n }),
    fileRecord({ path: "zero", mtimeNs: 0n, sequence: 5n }),
    fileRecord({ path: "v", version: fullVersion, sequence: 6n }),
    fileRecord({
      path: "u64",
      version: [{ replica: 0n, counter: 1n }, {
        replica: U64_MAX,
        counter: 1n,
      }],
      sequence: 7n,
    }),
    fileRecord({ path: "exec", exec: true, sequence: 8n }),
    fileRecord({
      path: "full-chunks",
      size: 4 * 262_144,
      chunks: Array.from({ length: 4 }, (_, i) => ({
        length: 262_144,
        hash: hashOf(i),
      })),
      sequence: 9n,
    }),
    deletedRecord("dir", { sequence: 10n }),
    deletedRecord("symlink", { sequence: 11n }),
    symlinkRecord({ symlinkTarget: "/abs/target", sequence: 12n }),
    symlinkRecord({
      path: "long-link",
      symlinkTarget: "t".repeat(4096),
      sequence: 13n,
    }),
    fileRecord({ path: "unicode/日本語 😀", sequence: MAX_SEQUENCE }),
  ));
  roundTrip({
    type: "hello",
    protocolVersion: 2,
    replicaId: U64_MAX,
    name: "é".repeat(31) + "x", // 63 bytes
    caseInsensitive: false,
    posixNames: false,
    swarming: false,
    recordDiffs: false,
    blockDeltas: false,
  });
  roundTrip({
    type: "chunk_request",
    id: 0xffff_ffff,
    path: "a",
    hash: hashOf(1),
    offset: Number.MAX_SAFE_INTEGER - 262_144,
    length: 262_144,
  });
  roundTrip({
    type: "chunk_response",
    id: 0,
    status: "ok",
    compression: "none",
    data: new Uint8Array(262_144).fill(7),
    rawLength: 262_144,
  });
  for (const status of ["changed", "not_found", "refused"] as const) {
    roundTrip({
      type: "chunk_response",
      id: 1,
      status,
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    });
  }
  roundTrip({ type: "in_sync", sequence: MAX_SEQUENCE });
});

Deno.test("encodeMessage() round-trips a record with the most chunks", () => {
  const pool = new Uint8Array(MAX_CHUNKS_PER_RECORD + 32);
  for (let i = 0; i < pool.length; i++) pool[i] = (i * 2_654_435_761) >>> 24;
  const chunks = Array.from(
    { length: MAX_CHUNKS_PER_RECORD },
    (_, i) => ({ length: 1, hash: pool.subarray(i, i + 32) }),
  );
  const record = fileRecord({
    path: "p".repeat(255) + "/x".repeat(1900),
    size: MAX_CHUNKS_PER_RECORD,
    chunks,
    version: Array.from({ length: 256 }, (_, i) => ({
      replica: U64_MAX - BigInt(i) * 1_000n,
      counter: MAX_SEQUENCE,
    })).reverse(),
    sequence: MAX_SEQUENCE,
  });
  const bytes = encodeMessage(batch(record));
  assert(bytes.length <= MAX_MESSAGE_SIZE);
  const decoded = decodeMessage(bytes) as IndexBatch;
  assertEquals(decoded.records[0]?.chunks.length, MAX_CHUNKS_PER_RECORD);
  assertEquals(
    decoded.records[0]?.chunks[12_345]?.hash,
    pool.slice(12_345, 12_345 + 32),
  );

  const over = fileRecord({
    size: MAX_CHUNKS_PER_RECORD + 1,
    chunks: [...chunks, { length: 1, hash: hashOf(0) }],
  });
  assertThrows(() => encodeMessage(batch(over)), LimitExceededError);
  // The count alone is refused, before any chunk is read.
  const header = new Bytes().u8(2).u8(1).u8(1).str("f").u8(0).u8(0)
    .varint(MAX_CHUNKS_PER_RECORD + 1).u8(0).u8(1).u8(1).u8(1).u8(1)
    .raw(hashOf(1)).varint(MAX_CHUNKS_PER_RECORD + 1).done();
  assertThrows(() => decodeMessage(header), LimitExceededError, "chunk count");
});

Deno.test("encodedRecordSize() is the exact encoded size", () => {
  const records = [
    fileRecord(),
    dirRecord(),
    symlinkRecord({ symlinkTarget: "ü".repeat(100) }),
    deletedRecord("file"),
    fileRecord({ path: "日本語/ファイル", mtimeNs: MIN_MTIME_NS }),
    ...bigBatch(20),
  ];
  for (const record of records) {
    const bytes = encodeMessage(batch(record));
    assertEquals(
      encodedRecordSize(record) + 3,
      bytes.length,
      record.path,
    );
  }
  const many = bigBatch(300);
  const total = many.reduce((sum, r) => sum + encodedRecordSize(r), 0);
  const size =
    encodeMessage({ type: "index_batch", records: many, last: false })
      .length;
  assert(size <= total + INDEX_BATCH_HEADER_BYTES && size >= total + 3);
});

Deno.test("decodeMessage() results never alias the input", () => {
  const msg: Message = {
    type: "chunk_response",
    id: 1,
    status: "ok",
    compression: "none",
    data: hashOf(4, 64),
    rawLength: 64,
  };
  const bytes = encodeMessage(msg);
  const decoded = decodeMessage(bytes) as ChunkResponse;
  bytes.fill(0);
  assertEquals(decoded.data, hashOf(4, 64));

  const batchBytes = encodeMessage(batch(fileRecord()));
  const decodedBatch = decodeMessage(batchBytes) as IndexBatch;
  batchBytes.fill(0);
  assertEquals(decodedBatch.records[0], fileRecord());
});

Deno.test("encodeMessageParts() sends chunk data as its own piece, encoding as encodeMessage()", () => {
  const data = hashOf(6, 5000);
  const cases: [Message, number][] = [
    [{
      type: "chunk_response",
      id: 300,
      status: "ok",
      compression: "none",
      data,
      rawLength: 5000,
    }, 2],
    [{
      type: "chunk_response",
      id: 1,
      status: "ok",
      compression: "none",
      data: hashOf(7, 1023),
      rawLength: 1023,
    }, 1],
    [{
      type: "chunk_response",
      id: 2,
      status: "not_found",
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    }, 1],
    [batch(fileRecord()), 1],
  ];
  for (const [msg, pieces] of cases) {
    const parts = encodeMessageParts(msg);
    assertEquals(parts.length, pieces, msg.type);
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    assertEquals(joined, encodeMessage(msg));
  }
  const [, piece] = encodeMessageParts(cases[0]![0]);
  assert(piece === data, "the caller's data, not a copy");
  assertThrows(
    () =>
      encodeMessageParts({
        type: "chunk_response",
        id: 3,
        status: "ok",
        compression: "none",
        data,
        rawLength: 4999,
      }),
    MalformedMessageError,
  );
});

Deno.test("decodeOwnedMessage() decodes in place, at any offset, with the same checks", () => {
  const msg: Message = {
    type: "chunk_response",
    id: 9,
    status: "ok",
    compression: "none",
    data: hashOf(5, 64),
    rawLength: 64,
  };
  const encoded = encodeMessage(msg);
  // As a view into a larger received frame.
  const frame = new Uint8Array(encoded.length + 10);
  frame.set(encoded, 7);
  const bytes = frame.subarray(7, 7 + encoded.length);
  const decoded = decodeOwnedMessage(bytes) as ChunkResponse;
  assertEquals(decoded, msg);
  assert(decoded.data.buffer === frame.buffer, "chunk data is a view");
  assertEquals(
    decodeOwnedMessage(encodeMessage(batch(fileRecord()))),
    batch(fileRecord()),
  );
  assertThrows(
    () => decodeOwnedMessage(bytes.subarray(0, bytes.length - 1)),
    MalformedMessageError,
  );
});

Deno.test("encodeMessage() and decodeMessage() handle a 4096-record batch", () => {
  const records = bigBatch(MAX_RECORDS_PER_BATCH);
  const msg: IndexBatch = { type: "index_batch", records, last: true };
  const bytes = encodeMessage(msg);
  assertEquals(decodeMessage(bytes), msg);
  assertThrows(
    () =>
      encodeMessage({
        type: "index_batch",
        records: bigBatch(MAX_RECORDS_PER_BATCH + 1),
        last: true,
      }),
    LimitExceededError,
  );
});

Deno.test("encodeMessage() refuses a batch over the message size", () => {
  const path = Array.from({ length: 16 }, () => "q".repeat(255)).join("/");
  const records = bigBatch(MAX_RECORDS_PER_BATCH).map((r) => ({ ...r, path }));
  assertThrows(
    () => encodeMessage({ type: "index_batch", records, last: true }),
    LimitExceededError,
    "exceeds",
  );
  assertThrows(
    () => decodeMessage(new Uint8Array(MAX_MESSAGE_SIZE + 1)),
    LimitExceededError,
  );
});

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => ProtocolError;

interface BadCase {
  readonly name: string;
  readonly msg: unknown;
  readonly error: ErrorClass;
  /** False when the fault cannot be expressed in the byte layout. */
  readonly wire?: boolean | undefined;
  /** False when the fault exists only in bytes (a flag byte, say). */
  readonly api?: boolean | undefined;
}

function rec(over: Record<string, unknown>): WireFileRecord {
  return { ...fileRecord(), ...over } as WireFileRecord;
}

const BAD_RECORDS: readonly BadCase[] = [
  ["path with ..", rec({ path: "a/../b" }), InvalidPathError],
  ["absolute path", rec({ path: "/etc/passwd" }), InvalidPathError],
  ["non-NFC path", rec({ path: "e\u0301" }), InvalidPathError],
  ["backslash in path", rec({ path: "dir\\CON.txt" }), InvalidPathError],
  ["control char in path", rec({ path: "a\u0001" }), InvalidPathError],
  [
    "unknown kind",
    { ...rec({}), kind: "socket", kindCode: 3 },
    MalformedMessageError,
  ],
  ["unknown flag", { ...rec({}), flagsByte: 4 }, MalformedMessageError],
  ["size over 2^53 - 1", rec({ size: 2 ** 53 }), LimitExceededError],
  ["negative size", rec({ size: -1 }), MalformedMessageError, false],
  ["fractional size", rec({ size: 1.5 }), MalformedMessageError, false],
  [
    "chunk of 0 bytes",
    rec({ size: 0, chunks: [{ length: 0, hash: hashOf(1) }] }),
    MalformedMessageError,
  ],
  [
    "chunk over 256 KiB",
    rec({ size: 262_145, chunks: [{ length: 262_145, hash: hashOf(1) }] }),
    LimitExceededError,
  ],
  ["chunk sum below size", rec({ size: 100_001 }), MalformedMessageError],
  ["chunk sum above size", rec({ size: 99_999 }), MalformedMessageError],
  ["file without chunks", rec({ size: 10, chunks: [] }), MalformedMessageError],
  [
    "short chunk hash",
    rec({ chunks: [{ length: 100_000, hash: hashOf(1, 31) }] }),
    MalformedMessageError,
    false,
  ],
  [
    "short file hash",
    rec({ hash: hashOf(1, 31) }),
    MalformedMessageError,
    false,
  ],
  ["dir with a size", { ...dirRecord(), size: 5 }, MalformedMessageError],
  [
    "dir with a hash",
    { ...dirRecord(), hash: hashOf(1) },
    MalformedMessageError,
    false,
  ],
  [
    "dir with chunks",
    { ...dirRecord(), chunks: [{ length: 1, hash: hashOf(1) }] },
    MalformedMessageError,
    false,
  ],
  ["exec dir", { ...dirRecord(), exec: true }, MalformedMessageError],
  ["exec symlink", { ...symlinkRecord(), exec: true }, MalformedMessageError],
  [
    "deleted with chunks",
    { ...deletedRecord("file"), chunks: fileRecord().chunks },
    MalformedMessageError,
    false,
  ],
  [
    "deleted with size",
    { ...deletedRecord("file"), size: 100_000 },
    MalformedMessageError,
  ],
  [
    "deleted with hash",
    { ...deletedRecord("file"), hash: hashOf(1) },
    MalformedMessageError,
    false,
  ],
  [
    "deleted symlink with target",
    { ...deletedRecord("symlink"), symlinkTarget: "x" },
    MalformedMessageError,
    false,
  ],
  [
    "symlink without target",
    { ...symlinkRecord(), symlinkTarget: undefined },
    MalformedMessageError,
  ],
  [
    "symlink with empty target",
    symlinkRecord({ symlinkTarget: "" }),
    MalformedMessageError,
  ],
  [
    "symlink target with NUL",
    symlinkRecord({ symlinkTarget: "a\u0000b" }),
    MalformedMessageError,
  ],
  [
    "symlink target with newline",
    symlinkRecord({ symlinkTarget: "a\nb" }),
    MalformedMessageError,
  ],
  [
    "symlink target over 4096 bytes",
    symlinkRecord({ symlinkTarget: "t".repeat(4097) }),
    LimitExceededError,
  ],
  ["symlink with size", { ...symlinkRecord(), size: 3 }, MalformedMessageError],
  [
    "symlink with chunks",
    { ...symlinkRecord(), chunks: [{ length: 1, hash: hashOf(1) }] },
    MalformedMessageError,
    false,
  ],
  [
    "file with target",
    rec({ symlinkTarget: "x" }),
    MalformedMessageError,
    false,
  ],
  ["empty version", rec({ version: [] }), MalformedMessageError],
  [
    "257 version entries",
    rec({
      version: Array.from(
        { length: 257 },
        (_, i) => ({ replica: BigInt(i), counter: 1n }),
      ),
    }),
    LimitExceededError,
  ],
  [
    "duplicate replica",
    rec({
      version: [{ replica: 5n, counter: 1n }, { replica: 5n, counter: 2n }],
    }),
    MalformedMessageError,
  ],
  [
    "unsorted replicas",
    rec({
      version: [{ replica: 6n, counter: 1n }, { replica: 5n, counter: 2n }],
    }),
    MalformedMessageError,
  ],
  [
    "zero counter",
    rec({ version: [{ replica: 5n, counter: 0n }] }),
    MalformedMessageError,
  ],
  [
    "counter 2^63",
    rec({ version: [{ replica: 5n, counter: 1n << 63n }] }),
    LimitExceededError,
  ],
  [
    "replica over u64",
    rec({ version: [{ replica: 1n << 64n, counter: 1n }] }),
    LimitExceededError,
  ],
  [
    "negative replica",
    rec({ version: [{ replica: -1n, counter: 1n }] }),
    MalformedMessageError,
    false,
  ],
  ["sequence 0", rec({ sequence: 0n }), MalformedMessageError],
  ["sequence 2^63", rec({ sequence: 1n << 63n }), LimitExceededError],
  ["mtime over i64", rec({ mtimeNs: MAX_MTIME_NS + 1n }), LimitExceededError],
  [
    "mtime under i64",
    rec({ mtimeNs: MIN_MTIME_NS - 1n }),
    LimitExceededError,
  ],
  ["number mtime", rec({ mtimeNs: 5 }), MalformedMessageError, false],
].map(([name, record, error, wire]) => ({
  name: `record: ${name}`,
  msg: { type: "index_batch", records: [record], last: true },
  error: error as ErrorClass,
  wire: wire as boolean | undefined,
  api: !(typeof record === "object" && record !== null &&
    ("flagsByte" in record || "kindCode" in record)),
}));

const hello = {
  type: "hello",
  protocolVersion: 2,
  replicaId: 1n,
  name: "peer",
  caseInsensitive: false,
  posixNames: false,
  swarming: false,
  recordDiffs: false,
  blockDeltas: false,
};
const request = {
  type: "chunk_request",
  id: 1,
  path: "a/b",
  hash: hashOf(1),
  offset: 0,
  length: 100,
};
const response = {
  type: "chunk_response",
  id: 1,
  status: "ok",
  compression: "none",
  data: hashOf(1, 10),
  rawLength: 10,
};

const BAD_MESSAGES: readonly BadCase[] = [
  ...BAD_RECORDS,
  {
    name: "batch: sequences not increasing",
    msg: batch(fileRecord({ sequence: 5n }), dirRecord({ sequence: 5n })),
    error: MalformedMessageError,
  },
  {
    name: "batch: sequences decreasing",
    msg: batch(fileRecord({ sequence: 6n }), dirRecord({ sequence: 5n })),
    error: MalformedMessageError,
  },
  {
    name: "batch: 4097 records",
    msg: batch(...bigBatch(4097)),
    error: LimitExceededError,
  },
  {
    name: "batch: last byte 2",
    msg: { ...batch(), lastByte: 2 },
    error: MalformedMessageError,
    api: false,
  },
  ...availabilityCases(),
  ...indexDiffCases(),
  {
    name: "record_request: bad path",
    msg: { type: "record_request", path: "/etc/passwd" },
    error: InvalidPathError,
  },
  {
    name: "hello: version 1 (file hash over the content)",
    msg: { ...hello, protocolVersion: 1 },
    error: UnsupportedVersionError,
  },
  {
    name: "hello: unknown flag",
    msg: { ...hello, flagsByte: 32 },
    error: MalformedMessageError,
    api: false,
  },
  {
    name: "hello: 64-byte name",
    msg: { ...hello, name: "n".repeat(64) },
    error: LimitExceededError,
  },
  {
    name: "hello: control character in name",
    msg: { ...hello, name: "evil\u001b[2J" },
    error: MalformedMessageError,
  },
  {
    name: "hello: C1 control in name",
    msg: { ...hello, name: "evil\u009b" },
    error: MalformedMessageError,
  },
  {
    name: "hello: replica over u64",
    msg: { ...hello, replicaId: 1n << 64n },
    error: LimitExceededError,
  },
  {
    name: "ack: sequence 2^63",
    msg: { type: "index_ack", sequence: 1n << 63n },
    error: LimitExceededError,
  },
  {
    name: "in_sync: sequence 2^63",
    msg: { type: "in_sync", sequence: 1n << 63n },
    error: LimitExceededError,
  },
  {
    name: "request: id over u32",
    msg: { ...request, id: 2 ** 32 },
    error: LimitExceededError,
  },
  {
    name: "request: bad path",
    msg: { ...request, path: "../x" },
    error: InvalidPathError,
  },
  {
    name: "request: length 0",
    msg: { ...request, length: 0 },
    error: MalformedMessageError,
  },
  {
    name: "request: length over 256 KiB",
    msg: { ...request, length: 262_145 },
    error: LimitExceededError,
  },
  {
    name: "request: offset + length over 2^53 - 1",
    msg: { ...request, offset: Number.MAX_SAFE_INTEGER - 5 },
    error: LimitExceededError,
  },
  {
    name: "request: short hash",
    msg: { ...request, hash: hashOf(1, 16) },
    error: MalformedMessageError,
    wire: false,
  },
  {
    name: "response: unknown status",
    msg: { ...response, status: "maybe", statusCode: 4 },
    error: MalformedMessageError,
  },
  {
    name: "response: unknown compression",
    msg: { ...response, compression: "zstd", compressionCode: 2 },
    error: MalformedMessageError,
  },
  {
    name: "response: raw length mismatch",
    msg: { ...response, rawLength: 11 },
    error: MalformedMessageError,
  },
  {
    name: "response: raw length over 256 KiB",
    msg: {
      ...response,
      data: new Uint8Array(262_145),
      rawLength: 262_145,
    },
    error: LimitExceededError,
  },
  {
    name: "response: ok without data",
    msg: { ...response, data: new Uint8Array(0), rawLength: 0 },
    error: MalformedMessageError,
  },
  {
    name: "response: lz4 not smaller",
    msg: { ...response, compression: "lz4" },
    error: MalformedMessageError,
  },
  {
    name: "response: empty lz4",
    msg: { ...response, compression: "lz4", data: new Uint8Array(0) },
    error: MalformedMessageError,
  },
  {
    name: "response: refused with data",
    msg: { ...response, status: "refused" },
    error: MalformedMessageError,
  },
  {
    name: "response: changed with raw length",
    msg: {
      ...response,
      status: "changed",
      data: new Uint8Array(0),
      rawLength: 5,
    },
    error: MalformedMessageError,
  },
  {
    name: "response: not_found compressed",
    msg: {
      ...response,
      status: "not_found",
      compression: "lz4",
      data: new Uint8Array(0),
      rawLength: 0,
    },
    error: MalformedMessageError,
  },
];

const blockRequest = {
  type: "block_request",
  id: 3,
  path: "a/b",
  hash: hashOf(1),
  offset: 0,
  length: 4097,
  signatures: hashOf(2, 16),
};
const blockResponse = {
  type: "block_response",
  id: 3,
  status: "ok",
  compression: "none",
  bitmap: Uint8Array.of(1),
  rawLength: 10,
  data: hashOf(1, 10),
};

/** Block requests and answers breaking each rule of theirs. */
const BLOCK_CASES: readonly BadCase[] = [
  {
    name: "block request: one signature for two blocks",
    msg: { ...blockRequest, signatures: hashOf(2, 8) },
    error: MalformedMessageError,
  },
  {
    name: "block request: length 0",
    msg: { ...blockRequest, length: 0, signatures: new Uint8Array(0) },
    error: MalformedMessageError,
  },
  {
    name: "block request: length over 256 KiB",
    msg: {
      ...blockRequest,
      length: 262_145,
      signatures: new Uint8Array(65 * 8),
    },
    error: LimitExceededError,
  },
  {
    name: "block request: bad path",
    msg: { ...blockRequest, path: "../x" },
    error: InvalidPathError,
  },
  {
    name: "block response: ok without a bitmap",
    msg: { ...blockResponse, bitmap: new Uint8Array(0) },
    error: MalformedMessageError,
  },
  {
    name: "block response: bitmap over 8 bytes",
    msg: { ...blockResponse, bitmap: new Uint8Array(9) },
    error: LimitExceededError,
  },
  {
    name: "block response: raw length mismatch",
    msg: { ...blockResponse, rawLength: 11 },
    error: MalformedMessageError,
  },
  {
    name: "block response: lz4 not smaller",
    msg: { ...blockResponse, compression: "lz4" },
    error: MalformedMessageError,
  },
  {
    name: "block response: changed with a bitmap",
    msg: {
      ...blockResponse,
      status: "changed",
      data: new Uint8Array(0),
      rawLength: 0,
    },
    error: MalformedMessageError,
  },
  {
    name: "block response: unknown status",
    msg: { ...blockResponse, status: "maybe", statusCode: 4 },
    error: MalformedMessageError,
  },
];

/** An `IndexDiff` breaking each rule of its own (see `checkIndexDiff`). */
function indexDiffCases(): BadCase[] {
  const d = indexDiff();
  const cases: [
    string,
    Record<string, unknown>,
    ErrorClass,
    { api?: boolean; wire?: boolean }?,
  ][] = [
    ["bad path", { path: "a/../b" }, InvalidPathError],
    ["flags byte 2", { flagsByte: 2 }, MalformedMessageError, { api: false }],
    ["last byte 2", { lastByte: 2 }, MalformedMessageError, { api: false }],
    ["sequence 0", { sequence: 0n }, MalformedMessageError],
    ["no version", { version: [] }, MalformedMessageError],
    [
      "short base hash",
      { baseHash: hashOf(1, 31) },
      MalformedMessageError,
      { wire: false },
    ],
    ["no edits", { edits: [] }, MalformedMessageError],
    [
      "edit that drops and adds nothing",
      { edits: [{ keep: 2, drop: 0, add: 0 }], added: [] },
      MalformedMessageError,
    ],
    [
      "second edit keeping nothing",
      {
        edits: [{ keep: 2, drop: 2, add: 1 }, { keep: 0, drop: 0, add: 1 }],
      },
      MalformedMessageError,
    ],
    [
      "edits adding more than given",
      { edits: [{ keep: 2, drop: 2, add: 3 }] },
      MalformedMessageError,
    ],
    [
      "edits keeping more than the list",
      { edits: [{ keep: 9, drop: 2, add: 2 }] },
      MalformedMessageError,
    ],
    [
      "chunk total over the cap",
      { chunkTotal: MAX_CHUNKS_PER_RECORD + 1 },
      LimitExceededError,
    ],
    [
      "base over the cap",
      {
        chunkTotal: MAX_CHUNKS_PER_RECORD,
        edits: [{ keep: 0, drop: 3, add: 2 }],
      },
      LimitExceededError,
    ],
    [
      "added chunk of 0 bytes",
      {
        added: [{ length: 0, hash: hashOf(1) }, {
          length: 65_536,
          hash: hashOf(2),
        }],
      },
      MalformedMessageError,
    ],
    [
      "added bytes over the size",
      { size: 100_000 },
      MalformedMessageError,
    ],
  ];
  return cases.map(([name, over, error, only]) => ({
    name: `index_diff: ${name}`,
    msg: { ...d, ...over },
    error,
    ...only,
  }));
}

Deno.test("encodeMessage() and decodeMessage() reject every rule with its error", () => {
  for (const c of [...BAD_MESSAGES, ...BLOCK_CASES]) {
    if (c.api !== false) {
      assertThrows(
        () => encodeMessage(c.msg as Message),
        c.error,
        undefined,
        `encode ${c.name}`,
      );
    }
    if (c.wire === false) continue;
    assertThrows(
      () => decodeMessage(specEncode(c.msg)),
      c.error,
      undefined,
      `decode ${c.name}`,
    );
  }
});

Deno.test("decodeMessage() rejects malformed bytes", () => {
  const cases: readonly (readonly [string, Uint8Array, ErrorClass])[] = [
    ["empty", new Uint8Array(0), MalformedMessageError],
    ["type 0", Uint8Array.of(0), MalformedMessageError],
    ["type 7", Uint8Array.of(7, 0), MalformedMessageError],
    ["type 255", Uint8Array.of(255), MalformedMessageError],
    ["trailing byte", Uint8Array.of(3, 5, 0), MalformedMessageError],
    ["overlong varint", Uint8Array.of(3, 0x85, 0x00), MalformedMessageError],
    ["overlong zero", Uint8Array.of(3, 0x80, 0x00), MalformedMessageError],
    [
      "varint over 64 bits",
      Uint8Array.of(3, ...new Array(9).fill(0xff), 0x02),
      LimitExceededError,
    ],
    [
      "varint of 11 bytes",
      Uint8Array.of(3, ...new Array(10).fill(0x80), 0x01),
      MalformedMessageError,
    ],
    [
      "u32 varint of 9 bytes",
      Uint8Array.of(4, ...new Array(8).fill(0xff), 0x01),
      LimitExceededError,
    ],
    [
      "invalid UTF-8 in name",
      new Bytes().u8(1).u8(2).u8(1).u8(2).raw([0xc3, 0x28]).u8(0).done(),
      MalformedMessageError,
    ],
    [
      "overlong UTF-8 slash in path",
      new Bytes().u8(4).u8(1).u8(3).raw([0x61, 0xc0, 0xaf]).raw(hashOf(1))
        .u8(0).u8(1).done(),
      MalformedMessageError,
    ],
    [
      "UTF-8 surrogate in path",
      new Bytes().u8(4).u8(1).u8(3).raw([0xed, 0xa0, 0x80]).raw(hashOf(1))
        .u8(0).u8(1).done(),
      MalformedMessageError,
    ],
    [
      "chunk count beyond the bytes left",
      new Bytes().u8(2).u8(1).u8(1).str("f").u8(0).u8(0).u8(0).u8(0).u8(1)
        .u8(1).u8(1).u8(1).raw(hashOf(1)).varint(400_000).done(),
      MalformedMessageError,
    ],
    [
      "hello version 0",
      new Bytes().u8(1).u8(0).u8(1).str("x").u8(0).done(),
      UnsupportedVersionError,
    ],
    [
      "hello version 1000",
      new Bytes().u8(1).varint(1000).done(),
      UnsupportedVersionError,
    ],
  ];
  for (const [name, bytes, error] of cases) {
    assertThrows(() => decodeMessage(bytes), error, undefined, name);
  }
  for (const value of [undefined, null, "bytes", [1, 2], new ArrayBuffer(3)]) {
    assertThrows(
      () => decodeMessage(value as unknown as Uint8Array),
      MalformedMessageError,
    );
  }
});

Deno.test("decodeMessage() accepts subarray views at any offset", () => {
  const bytes = encodeMessage(batch(fileRecord(), ...[]));
  const padded = new Uint8Array(bytes.length + 10);
  padded.set(bytes, 5);
  assertEquals(
    decodeMessage(padded.subarray(5, 5 + bytes.length)),
    batch(fileRecord()),
  );
});

Deno.test("decodeMessage() throws a ProtocolError at every truncation", () => {
  for (const msg of sampleMessages()) {
    const bytes = encodeMessage(msg);
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        decodeMessage(bytes.subarray(0, cut));
      } catch (error) {
        assert(
          error instanceof ProtocolError,
          `${msg.type} cut at ${cut}: ${error}`,
        );
        continue;
      }
      throw new Error(`${msg.type} cut at ${cut} decoded`);
    }
  }
});

Deno.test("decodeMessage() only throws ProtocolError on mutated input (seeded fuzz)", () => {
  const random = prng(0x5eed_d5c);
  const seeds = sampleMessages().map((m) => encodeMessage(m));
  const int = (n: number) => Math.floor(random() * n);
  const interesting = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x2e, 0x2f, 0x5c];
  let accepted = 0;
  for (let iteration = 0; iteration < 20_000; iteration++) {
    const seed = seeds[int(seeds.length)] as Uint8Array;
    let bytes = Array.from(seed);
    const mutations = 1 + int(4);
    for (let m = 0; m < mutations; m++) {
      const at = int(bytes.length + 1);
      switch (int(6)) {
        case 0:
          if (at < bytes.length) {
            bytes[at] = (bytes[at] as number) ^ (1 << int(8));
          }
          break;
        case 1:
          if (at < bytes.length) bytes[at] = int(256);
          break;
        case 2:
          bytes.splice(at, 0, interesting[int(interesting.length)] as number);
          break;
        case 3:
          bytes.splice(at, 1 + int(3));
          break;
        case 4:
          bytes = bytes.slice(0, at);
          break;
        case 5: {
          const from = int(bytes.length + 1);
          bytes.splice(at, 0, ...bytes.slice(from, from + 1 + int(8)));
          break;
        }
      }
    }
    const input = Uint8Array.from(bytes);
    let decoded: Message;
    try {
      decoded = decodeMessage(input);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw new Error(
          `Iteration ${iteration}: ${error} for [${bytes.join(",")}]`,
        );
      }
      continue;
    }
    // Whatever decodes is canonical: it encodes back to the same bytes.
    accepted++;
    assertEquals(encodeMessage(decoded), input, `iteration ${iteration}`);
  }
  assert(accepted > 0, "some mutations should still decode");
});

Deno.test("checkResponseMatchesRequest() ties a response to its request", () => {
  const req = request as ChunkRequest;
  const ok = { ...response, id: 1, rawLength: 100, data: new Uint8Array(100) };
  checkResponseMatchesRequest(req, ok as ChunkResponse);
  checkResponseMatchesRequest(req, {
    type: "chunk_response",
    id: 1,
    status: "changed",
    compression: "none",
    data: new Uint8Array(0),
    rawLength: 0,
  });
  assertThrows(
    () => checkResponseMatchesRequest(req, { ...ok, id: 2 } as ChunkResponse),
    MalformedMessageError,
  );
  assertThrows(
    () =>
      checkResponseMatchesRequest(req, {
        ...ok,
        rawLength: 99,
      } as ChunkResponse),
    MalformedMessageError,
  );
});

Deno.test("encodeMessage() refuses non-messages with a ProtocolError", () => {
  for (const value of [null, undefined, 42, {}, { type: "bogus" }]) {
    assertThrows(
      () => encodeMessage(value as unknown as Message),
      MalformedMessageError,
    );
  }
  assertThrows(
    () =>
      encodeMessage({
        type: "index_batch",
        records: null,
        last: true,
      } as unknown as Message),
    MalformedMessageError,
  );
});

Deno.test("decodeMessage() names the record and rule in its errors", () => {
  const bytes = specEncode(
    batch(
      fileRecord({ sequence: 1n }),
      dirRecord({ path: "a/../b", sequence: 2n }),
    ),
  );
  const error = assertThrows(
    () => decodeMessage(bytes),
    InvalidPathError,
  ) as InvalidPathError;
  assertEquals(error.reason, "dot component");
  assertEquals(error.path, "a/../b");
  assert(error.message.includes("IndexBatch record 1"), error.message);
});

Deno.test("encodeMessage() encodes 64-bit fields like the reference encoder", () => {
  const random = prng(64);
  const u64 = () =>
    BigInt.asUintN(
      64,
      (BigInt(Math.floor(random() * 2 ** 32)) << 32n) |
        BigInt(Math.floor(random() * 2 ** 32)),
    ) >> BigInt(Math.floor(random() * 64));
  const records: WireFileRecord[] = [];
  for (let i = 0; i < 2000; i++) {
    const replica = u64();
    records.push(deletedRecord("file", {
      path: `f${i}`,
      mtimeNs: BigInt.asIntN(64, u64()),
      version: [{ replica, counter: 1n + (u64() >> 2n) }],
      sequence: BigInt(i + 1),
    }));
  }
  records.push(deletedRecord("dir", {
    mtimeNs: MIN_MTIME_NS,
    sequence: 5000n,
  }));
  const msg = batch(...records);
  const bytes = encodeMessage(msg);
  assertEquals(bytes, specEncode(msg));
  assertEquals(decodeMessage(bytes), msg);
});

/** Availability messages every codec path must refuse, and why. */
function availabilityCases(): BadCase[] {
  const of = (ranges: { start: number; count: number }[], path = "f") => ({
    type: "availability",
    path,
    hash: hashOf(3),
    ranges,
  });
  return [
    {
      name: "availability: ranges touching",
      msg: of([{ start: 0, count: 2 }, { start: 2, count: 1 }]),
      error: MalformedMessageError,
    },
    {
      name: "availability: ranges overlapping",
      msg: of([{ start: 0, count: 4 }, { start: 2, count: 1 }]),
      error: MalformedMessageError,
    },
    {
      name: "availability: ranges out of order",
      msg: of([{ start: 5, count: 1 }, { start: 1, count: 1 }]),
      error: MalformedMessageError,
    },
    {
      name: "availability: range of 0 chunks",
      msg: of([{ start: 3, count: 0 }]),
      error: MalformedMessageError,
    },
    {
      name: "availability: range past the last chunk a record may have",
      msg: of([{ start: MAX_CHUNKS_PER_RECORD - 1, count: 2 }]),
      error: LimitExceededError,
    },
    {
      name: "availability: 4097 ranges",
      msg: of(
        Array.from({ length: 4097 }, (_, i) => ({ start: i * 2, count: 1 })),
      ),
      error: LimitExceededError,
    },
    {
      name: "availability: path with ..",
      msg: of([], "a/../b"),
      error: InvalidPathError,
    },
    {
      name: "availability: short hash",
      msg: { ...of([]), hash: new Uint8Array(31) },
      error: MalformedMessageError,
      wire: false,
    },
  ];
}
