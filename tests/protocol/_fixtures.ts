/**
 * Shared test data for the protocol tests: sample records and messages, an
 * independent encoder written from the byte layout in docs/PROTOCOL.md (it
 * checks nothing, so tests can put invalid values on the wire), and a seeded
 * PRNG.
 */
import type {
  IndexDiff,
  Message,
  WireFileRecord,
  WireKind,
} from "../../src/protocol/mod.ts";

/** A deterministic 32-byte "hash". */
export function hashOf(seed: number, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 131 + i * 7 + 1) & 0xff;
  return out;
}

export function fileRecord(over: Partial<WireFileRecord> = {}): WireFileRecord {
  return {
    path: "docs/readme.md",
    kind: "file",
    size: 100_000,
    mtimeNs: 1_700_000_000_123_456_789n,
    exec: false,
    hash: hashOf(1),
    chunks: [
      { length: 65_536, hash: hashOf(2) },
      { length: 34_464, hash: hashOf(3) },
    ],
    version: [
      { replica: 0x1234n, counter: 2n },
      { replica: 0xdead_beef_cafe_f00dn, counter: 7n },
    ],
    deleted: false,
    sequence: 1n,
    ...over,
  };
}

export function dirRecord(over: Partial<WireFileRecord> = {}): WireFileRecord {
  return fileRecord({
    path: "docs",
    kind: "dir",
    size: 0,
    hash: new Uint8Array(0),
    chunks: [],
    ...over,
  });
}

export function symlinkRecord(
  over: Partial<WireFileRecord> = {},
): WireFileRecord {
  return fileRecord({
    path: "link",
    kind: "symlink",
    size: 0,
    hash: hashOf(9),
    chunks: [],
    symlinkTarget: "../elsewhere/target file",
    ...over,
  });
}

export function deletedRecord(
  kind: WireKind,
  over: Partial<WireFileRecord> = {},
): WireFileRecord {
  return fileRecord({
    path: `gone-${kind}`,
    kind,
    size: 0,
    hash: new Uint8Array(0),
    chunks: [],
    deleted: true,
    ...over,
  });
}

/** One valid message of each type (plus a few variants). */
export function sampleMessages(): Message[] {
  return [
    {
      type: "hello",
      protocolVersion: 2,
      replicaId: 0xffff_ffff_ffff_ffffn,
      name: "laptop",
      caseInsensitive: true,
      posixNames: false,
      swarming: true,
      recordDiffs: true,
      blockDeltas: true,
    },
    {
      type: "hello",
      protocolVersion: 2,
      replicaId: 0n,
      name: "",
      caseInsensitive: false,
      posixNames: false,
      swarming: false,
      recordDiffs: false,
      blockDeltas: false,
    },
    { type: "index_batch", records: [], last: true },
    {
      type: "index_batch",
      last: false,
      records: [
        fileRecord({ sequence: 3n }),
        dirRecord({ sequence: 4n }),
        symlinkRecord({ sequence: 5n }),
        deletedRecord("file", { sequence: 9n, exec: true }),
        fileRecord({
          path: "empty",
          size: 0,
          chunks: [],
          sequence: 10n,
          mtimeNs: -1n,
        }),
      ],
    },
    { type: "index_ack", sequence: 0n },
    { type: "index_ack", sequence: 123_456_789n },
    { type: "in_sync", sequence: 42n },
    {
      type: "chunk_request",
      id: 7,
      path: "docs/readme.md",
      hash: hashOf(2),
      offset: 65_536,
      length: 34_464,
    },
    {
      type: "chunk_response",
      id: 7,
      status: "ok",
      compression: "none",
      data: hashOf(5, 40),
      rawLength: 40,
    },
    {
      type: "chunk_response",
      id: 8,
      status: "ok",
      compression: "lz4",
      data: hashOf(6, 20),
      rawLength: 1000,
    },
    {
      type: "chunk_response",
      id: 9,
      status: "changed",
      compression: "none",
      data: new Uint8Array(0),
      rawLength: 0,
    },
    {
      type: "availability",
      path: "video/film.mkv",
      hash: hashOf(21),
      ranges: [{ start: 0, count: 40 }, { start: 42, count: 1 }],
    },
    { type: "availability", path: "a", hash: hashOf(22), ranges: [] },
    indexDiff(),
    indexDiff({
      last: false,
      exec: true,
      sequence: 77n,
      edits: [{ keep: 0, drop: 1, add: 0 }, { keep: 3, drop: 0, add: 1 }],
      added: [{ length: 5000, hash: hashOf(31) }],
    }),
    { type: "record_request", path: "video/film.mkv" },
    {
      type: "block_request",
      id: 7,
      path: "video/film.mkv",
      hash: hashOf(40),
      offset: 1 << 30,
      length: 9000,
      signatures: hashOf(41, 24),
    },
    {
      type: "block_response",
      id: 7,
      status: "ok",
      compression: "none",
      bitmap: Uint8Array.of(0b101),
      rawLength: 4096 + 808,
      data: new Uint8Array(4096 + 808).fill(3),
    },
    {
      type: "block_response",
      id: 8,
      status: "ok",
      compression: "none",
      bitmap: Uint8Array.of(0),
      rawLength: 0,
      data: new Uint8Array(0),
    },
    {
      type: "block_response",
      id: 9,
      status: "changed",
      compression: "none",
      bitmap: new Uint8Array(0),
      rawLength: 0,
      data: new Uint8Array(0),
    },
  ];
}

/**
 * A valid `IndexDiff`: a 10-chunk list whose chunks 2 and 3 of the base
 * were replaced by two others (the rest kept).
 */
export function indexDiff(over: Partial<IndexDiff> = {}): IndexDiff {
  return {
    type: "index_diff",
    last: true,
    path: "video/film.mkv",
    exec: false,
    size: 10 * 65_536,
    mtimeNs: 1_700_000_000_123_456_789n,
    sequence: 12n,
    version: [{ replica: 0x8f3a_11d2_9c44_0b7en, counter: 4n }],
    hash: hashOf(23),
    baseHash: hashOf(24),
    listHash: hashOf(25),
    chunkTotal: 10,
    edits: [{ keep: 2, drop: 2, add: 2 }],
    added: [{ length: 65_536, hash: hashOf(26) }, {
      length: 65_536,
      hash: hashOf(27),
    }],
    ...over,
  };
}

/** Minimal growable byte builder, independent of src/protocol/_writer.ts. */
export class Bytes {
  #out = new Uint8Array(64);
  #length = 0;

  u8(v: number): this {
    if (this.#length === this.#out.length) {
      const next = new Uint8Array(this.#out.length * 2);
      next.set(this.#out);
      this.#out = next;
    }
    this.#out[this.#length++] = v & 0xff;
    return this;
  }

  varint(v: bigint | number): this {
    let x = BigInt(v);
    for (;;) {
      const low = Number(x & 0x7fn);
      x >>= 7n;
      if (x === 0n) return this.u8(low);
      this.u8(low | 0x80);
    }
  }

  raw(bytes: Uint8Array | readonly number[]): this {
    for (const b of bytes) this.u8(b);
    return this;
  }

  str(s: string): this {
    const bytes = new TextEncoder().encode(s);
    return this.varint(bytes.length).raw(bytes);
  }

  done(): Uint8Array {
    return this.#out.slice(0, this.#length);
  }
}

const KIND_CODES: Record<string, number> = { file: 0, dir: 1, symlink: 2 };
const STATUS_CODES: Record<string, number> = {
  ok: 0,
  changed: 1,
  not_found: 2,
  refused: 3,
};

export function zigzag(v: bigint): bigint {
  return v < 0n ? (-v << 1n) - 1n : v << 1n;
}

/** A record as the spec encoder takes it: any values, overrides for bytes. */
export type LooseRecord = Partial<
  Omit<WireFileRecord, "size"> & {
    size: number | bigint;
    kindCode: number;
    flagsByte: number;
  }
>;

function specRecord(b: Bytes, r: LooseRecord): void {
  const kindCode = r.kindCode ?? KIND_CODES[r.kind ?? "file"] ?? 0;
  b.str(r.path ?? "");
  b.u8(kindCode);
  b.u8(r.flagsByte ?? ((r.exec ? 1 : 0) | (r.deleted ? 2 : 0)));
  b.varint(r.size ?? 0);
  b.varint(zigzag(r.mtimeNs ?? 0n));
  b.varint(r.sequence ?? 0n);
  const version = r.version ?? [];
  b.varint(version.length);
  for (const e of version) b.varint(e.replica).varint(e.counter);
  if (r.deleted || kindCode === 1) return;
  b.raw(r.hash ?? new Uint8Array(0));
  if (kindCode === 0) {
    const chunks = r.chunks ?? [];
    b.varint(chunks.length);
    for (const c of chunks) b.varint(c.length);
    for (const c of chunks) b.raw(c.hash);
  } else {
    b.str(r.symlinkTarget ?? "");
  }
}

/** Encodes any (possibly invalid) message per the documented layout. */
// deno-lint-ignore no-explicit-any
export function specEncode(msg: any): Uint8Array {
  const b = new Bytes();
  switch (msg.type) {
    case "hello":
      b.u8(1).varint(msg.protocolVersion).varint(msg.replicaId).str(msg.name)
        .u8(
          msg.flagsByte ??
            ((msg.caseInsensitive ? 1 : 0) | (msg.posixNames ? 2 : 0) |
              (msg.swarming ? 4 : 0) | (msg.recordDiffs ? 8 : 0) |
              (msg.blockDeltas ? 16 : 0)),
        );
      break;
    case "index_batch":
      b.u8(2).u8(msg.lastByte ?? (msg.last ? 1 : 0)).varint(msg.records.length);
      for (const r of msg.records) specRecord(b, r);
      break;
    case "index_ack":
      b.u8(3).varint(msg.sequence);
      break;
    case "in_sync":
      b.u8(6).varint(msg.sequence);
      break;
    case "chunk_request":
      b.u8(4).varint(msg.id).str(msg.path).raw(msg.hash).varint(msg.offset)
        .varint(msg.length);
      break;
    case "chunk_response":
      b.u8(5).varint(msg.id).u8(msg.statusCode ?? STATUS_CODES[msg.status])
        .u8(msg.compressionCode ?? (msg.compression === "lz4" ? 1 : 0))
        .varint(msg.rawLength).varint(msg.data.length).raw(msg.data);
      break;
    case "availability":
      b.u8(8).str(msg.path).raw(msg.hash).varint(msg.ranges.length);
      for (const r of msg.ranges) b.varint(r.start).varint(r.count);
      break;
    case "index_diff": {
      b.u8(9).u8(msg.lastByte ?? (msg.last ? 1 : 0)).str(msg.path)
        .u8(msg.flagsByte ?? (msg.exec ? 1 : 0)).varint(msg.size)
        .varint(zigzag(msg.mtimeNs)).varint(msg.sequence)
        .varint(msg.version.length);
      for (const e of msg.version) b.varint(e.replica).varint(e.counter);
      b.raw(msg.hash).raw(msg.baseHash).raw(msg.listHash)
        .varint(msg.chunkTotal).varint(msg.edits.length);
      for (const e of msg.edits) b.varint(e.keep).varint(e.drop).varint(e.add);
      b.varint(msg.added.length);
      for (const c of msg.added) b.varint(c.length);
      for (const c of msg.added) b.raw(c.hash);
      break;
    }
    case "record_request":
      b.u8(10).str(msg.path);
      break;
    case "block_request":
      b.u8(11).varint(msg.id).str(msg.path).raw(msg.hash).varint(msg.offset)
        .varint(msg.length).varint(msg.signatures.length).raw(msg.signatures);
      break;
    case "block_response":
      b.u8(12).varint(msg.id).u8(msg.statusCode ?? STATUS_CODES[msg.status])
        .u8(msg.compressionCode ?? (msg.compression === "lz4" ? 1 : 0))
        .varint(msg.bitmap.length).raw(msg.bitmap).varint(msg.rawLength)
        .varint(msg.data.length).raw(msg.data);
      break;
    default:
      throw new Error(`specEncode: unknown type ${msg.type}`);
  }
  return b.done();
}

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A plausible batch of `count` live file records. */
export function bigBatch(count: number): WireFileRecord[] {
  const records: WireFileRecord[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1000 + i * 37;
    records.push({
      path: `src/module_${i % 97}/component_${i}/file_${i}.ts`,
      kind: "file",
      size,
      mtimeNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n,
      exec: i % 13 === 0,
      hash: hashOf(i),
      chunks: [{ length: size, hash: hashOf(i + 1) }],
      version: [
        { replica: 0x8f3a_11d2_9c44_0b7en, counter: BigInt(1 + (i % 5)) },
        { replica: 0xc001_d00d_f00d_beefn, counter: 1n },
      ],
      deleted: false,
      sequence: BigInt(i + 1),
    });
  }
  return records;
}
