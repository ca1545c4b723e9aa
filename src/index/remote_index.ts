/**
 * What each peer replica announced: its records per path and the highest
 * sequence received from it, kept in the folder's own `.dsync/index.db`
 * as a view over {@linkcode IndexStore}'s connection (`RemoteIndex.of`):
 * the database has one connection and one owner, and a batch joins a store
 * transaction in progress. With it a reconnecting peer is asked only for what changed
 * (`IndexAck` of the highest sequence stored), pulls interrupted by a
 * restart resume at start, and a chunk can be fetched from any peer that
 * announced the same content.
 *
 * Tables are created here, beside the store's (`remote_replicas`,
 * `remote_files`); the store's schema is only read (for the paths whose
 * local record differs from a peer's, and totals for the UI).
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import {
  decodeVersion,
  encodeVersion,
  type VersionVector,
} from "./version_vector.ts";
import { FILE_KINDS, type FileKind, type FileRecord } from "./file_record.ts";
import { toHex } from "./hash.ts";
import { connectionOf, type IndexStore } from "./store.ts";
import {
  CHUNK_ENTRY_BYTES,
  encodeChunksOf,
  withLazyChunks,
} from "./chunk_list.ts";

type Row = Record<string, unknown>;

/** One peer replica's record of a path. */
export interface RemoteEntry {
  readonly replica: bigint;
  readonly record: FileRecord;
}

/** A local record's path, sequence and deleted flag (for the case-fold table). */
export interface LocalPathRow {
  readonly path: string;
  readonly deleted: boolean;
  readonly sequence: number;
}

/** A local record and whether a given peer holds it in that version. */
export interface HeldMark {
  readonly path: string;
  readonly sequence: number;
  readonly held: boolean;
}

/** Live files in the local index and their bytes. */
export interface LocalTotals {
  readonly files: number;
  readonly bytes: number;
}

const COLUMNS =
  "replica, path, kind, size, mtime_ns, exec, deleted, symlink_target, hash, version, chunks";

/**
 * Chunk lists longer than this many bytes (1,024 chunks) are not read with
 * the record but when a pull first reads them: planning reads every
 * replica's record of a path, and each read of a list at the 448K-chunk
 * cap was a 16 MB copy.
 */
const INLINE_CHUNK_BYTES = 1024 * CHUNK_ENTRY_BYTES;

/** What a read of records selects: long chunk lists left out (NULL). */
const READ_COLUMNS =
  `replica, path, kind, size, mtime_ns, exec, deleted, symlink_target, hash, version,
  CASE WHEN length(chunks) <= ${INLINE_CHUNK_BYTES} THEN chunks END AS chunks,
  length(chunks) AS chunk_bytes`;

/** Columns an upsert binds per record. */
const UPSERT_COLUMNS = 11;
/**
 * Records stored by one statement: one statement run per record was half
 * of the time a receiver of 100,000 records spent storing them (as in the
 * store's upsert).
 */
const UPSERT_ROWS = 32;

/** The upsert of `rows` records of one replica, one statement. */
function upsertSql(rows: number): string {
  const row = `(${new Array(UPSERT_COLUMNS).fill("?").join(", ")})`;
  return `INSERT INTO remote_files (${COLUMNS})
    VALUES ${new Array(rows).fill(row).join(", ")}
    ON CONFLICT (replica, path) DO UPDATE SET kind = excluded.kind,
      size = excluded.size, mtime_ns = excluded.mtime_ns, exec = excluded.exec,
      deleted = excluded.deleted, symlink_target = excluded.symlink_target,
      hash = excluded.hash, version = excluded.version, chunks = excluded.chunks`;
}

/** Puts the upsert parameters of `r` (of replica `key`) at `at`. */
function bindRecord(
  params: SQLInputValue[],
  at: number,
  key: Uint8Array,
  r: FileRecord,
): void {
  params[at] = key;
  params[at + 1] = r.path;
  params[at + 2] = FILE_KINDS.indexOf(r.kind);
  params[at + 3] = r.size;
  params[at + 4] = r.mtimeNs;
  params[at + 5] = r.exec ? 1 : 0;
  params[at + 6] = r.deleted ? 1 : 0;
  params[at + 7] = r.symlinkTarget ?? null;
  params[at + 8] = r.hash;
  params[at + 9] = encodeVersion(r.version);
  params[at + 10] = encodeChunksOf(r);
}

/** A long chunk list read after its record changed (the pull that wanted it is stale). */
export class ChunkListGoneError extends Error {
  constructor(path: string) {
    super(
      `The chunk list of "${path}" changed since its record was read`,
    );
    this.name = "ChunkListGoneError";
  }
}

/** Replica ids are unsigned 64-bit: stored as 8 big-endian bytes. */
function replicaKey(replica: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, replica);
  return out;
}

function replicaOf(bytes: unknown): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 8) {
    throw new RangeError("Malformed replica id");
  }
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}

function kindOf(code: unknown): FileKind {
  const kind = FILE_KINDS[Number(code)];
  if (kind === undefined) throw new RangeError(`Unknown kind ${String(code)}`);
  return kind;
}

/**
 * A peer's record as read back. Its chunk list is decoded on first use:
 * planning reads every replica's record of a path and most never need
 * the list (issue #19 point 5: at the 448K-chunk cap it is 16 MB).
 */
function entryOf(
  row: Row,
  longList: (replica: Uint8Array, path: string, hash: Uint8Array) => Uint8Array,
): RemoteEntry {
  const target = row.symlink_target;
  const path = String(row.path);
  const hash = row.hash as Uint8Array;
  const replica = row.replica as Uint8Array;
  const chunks = row.chunks as Uint8Array | null;
  const record: FileRecord = withLazyChunks(
    {
      path: String(row.path),
      kind: kindOf(row.kind),
      size: Number(row.size),
      mtimeNs: BigInt(row.mtime_ns as bigint),
      exec: Number(row.exec) === 1,
      hash: row.hash as Uint8Array,
      version: decodeVersion(row.version as Uint8Array),
      deleted: Number(row.deleted) === 1,
      sequence: 0,
      ...(typeof target === "string" ? { symlinkTarget: target } : {}),
    },
    chunks ?? (() => longList(replica, path, hash)),
    Number(row.chunk_bytes) / CHUNK_ENTRY_BYTES,
  );
  return { replica: replicaOf(row.replica), record };
}

/** Peers' records, by replica and path. Synchronous calls. */
export class RemoteIndex {
  readonly #store: IndexStore;
  readonly #stmt: Record<
    | "max"
    | "setMax"
    | "upsert"
    | "upsertRows"
    | "get"
    | "longList"
    | "heldSince"
    | "forPath"
    | "forPaths"
    | "knows"
    | "localVersion"
    | "localVersions"
    | "withVersion"
    | "withVersions"
    | "withHash"
    | "withHashes"
    | "pending"
    | "localSince"
    | "totals"
    | "liveHashes"
    | "replicas"
    | "held",
    StatementSync
  >;

  /** The last count of {@linkcode localTotals}, at the store's sequence then. */
  #totals:
    | { at: number; value: LocalTotals; countedAt: number }
    | undefined;

  private constructor(store: IndexStore, db: DatabaseSync) {
    this.#store = store;
    db.exec(`CREATE TABLE IF NOT EXISTS remote_replicas (
      replica BLOB PRIMARY KEY,
      max_sequence INTEGER NOT NULL,
      seen_at INTEGER NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS remote_files (
      replica BLOB NOT NULL,
      path TEXT NOT NULL,
      kind INTEGER NOT NULL,
      size INTEGER NOT NULL,
      mtime_ns INTEGER NOT NULL,
      exec INTEGER NOT NULL,
      deleted INTEGER NOT NULL,
      symlink_target TEXT,
      hash BLOB NOT NULL,
      version BLOB NOT NULL,
      chunks BLOB NOT NULL,
      UNIQUE (replica, path)
    )`);
    db.exec(
      "CREATE INDEX IF NOT EXISTS remote_files_path ON remote_files (path)",
    );
    this.#stmt = {
      max: db.prepare(
        "SELECT max_sequence FROM remote_replicas WHERE replica = ?",
      ),
      setMax: db.prepare(
        `INSERT INTO remote_replicas (replica, max_sequence, seen_at) VALUES (?, ?, ?)
        ON CONFLICT (replica) DO UPDATE SET
          max_sequence = max(max_sequence, excluded.max_sequence),
          seen_at = excluded.seen_at`,
      ),
      upsert: db.prepare(upsertSql(1)),
      upsertRows: db.prepare(upsertSql(UPSERT_ROWS)),
      get: db.prepare(
        `SELECT ${READ_COLUMNS} FROM remote_files WHERE replica = ? AND path = ?`,
      ),
      longList: db.prepare(
        `SELECT chunks FROM remote_files WHERE replica = ? AND path = ? AND hash = ?`,
      ),
      heldSince: db.prepare(
        `SELECT f.path AS path, f.sequence AS sequence,
          r.replica IS NOT NULL AS held
        FROM files f LEFT JOIN remote_files r
          ON r.replica = ? AND r.path = f.path AND r.version = f.version
        WHERE f.sequence > ? ORDER BY f.sequence LIMIT ?`,
      ),
      forPath: db.prepare(
        `SELECT ${READ_COLUMNS} FROM remote_files WHERE path = ?`,
      ),
      forPaths: db.prepare(
        `SELECT ${READ_COLUMNS} FROM remote_files
        WHERE path IN (SELECT value FROM json_each(?))`,
      ),
      knows: db.prepare("SELECT 1 FROM remote_files WHERE path = ? LIMIT 1"),
      localVersion: db.prepare("SELECT version FROM files WHERE path = ?"),
      localVersions: db.prepare(
        `SELECT path, version FROM files
        WHERE path IN (SELECT value FROM json_each(?))`,
      ),
      withVersion: db.prepare(
        "SELECT replica FROM remote_files WHERE path = ? AND version = ?",
      ),
      withVersions: db.prepare(
        `SELECT j.value ->> 0 AS path, r.replica AS replica FROM json_each(?) j
        JOIN remote_files r ON r.path = j.value ->> 0
          AND r.version = unhex(j.value ->> 1)`,
      ),
      withHashes: db.prepare(
        `SELECT j.value ->> 0 AS path, r.replica AS replica FROM json_each(?) j
        JOIN remote_files r ON r.path = j.value ->> 0
          AND r.hash = unhex(j.value ->> 1) AND r.deleted = 0 AND r.kind = 0`,
      ),
      withHash: db.prepare(
        `SELECT replica FROM remote_files
        WHERE path = ? AND hash = ? AND deleted = 0 AND kind = 0`,
      ),
      pending: db.prepare(
        `SELECT DISTINCT r.path AS path FROM remote_files r
        LEFT JOIN files f ON f.path = r.path
        WHERE r.path > ? AND ((f.path IS NULL AND r.deleted = 0)
          OR (f.path IS NOT NULL AND f.version != r.version))
        ORDER BY r.path LIMIT ?`,
      ),
      localSince: db.prepare(
        `SELECT path, deleted, sequence FROM files WHERE sequence > ?
        ORDER BY sequence LIMIT ?`,
      ),
      totals: db.prepare(
        `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM files
        WHERE deleted = 0 AND kind = 0`,
      ),
      liveHashes: db.prepare(
        `SELECT path, hash FROM files WHERE deleted = 0 AND kind = 0
        UNION ALL SELECT path, hash FROM remote_files
        WHERE deleted = 0 AND kind = 0`,
      ),
      replicas: db.prepare("SELECT replica FROM remote_replicas"),
      held: db.prepare(
        `SELECT count(*) AS n, coalesce(sum(f.size), 0) AS bytes FROM files f
        WHERE f.deleted = 0 AND f.kind = 0 AND (f.sequence <= ? OR EXISTS (
          SELECT 1 FROM remote_files r WHERE r.replica = ? AND r.path = f.path
            AND r.version = f.version))`,
      ),
    };
    for (
      const s of [
        this.#stmt.max,
        this.#stmt.get,
        this.#stmt.forPath,
        this.#stmt.forPaths,
      ]
    ) {
      s.setReadBigInts(true);
    }
  }

  /**
   * The remote tables of `store`'s database (created on first use), over
   * the store's own connection. The store must stay open while it is used.
   */
  static of(store: IndexStore): RemoteIndex {
    return new RemoteIndex(store, connectionOf(store));
  }

  /** Path of the database file. */
  get dbPath(): string {
    return this.#store.dbPath;
  }

  /** Highest sequence stored from `replica` (0 when nothing yet). */
  maxSequence(replica: bigint): bigint {
    const row = this.#stmt.max.get(replicaKey(replica)) as Row | undefined;
    return row === undefined ? 0n : BigInt(row.max_sequence as bigint);
  }

  /** Replica ids seen so far. */
  replicas(): bigint[] {
    return (this.#stmt.replicas.all() as Row[]).map((r) =>
      replicaOf(r.replica)
    );
  }

  /**
   * Stores records received from `replica` and raises its highest sequence
   * to `maxSequence` (never lowers it), in one transaction.
   */
  storeBatch(
    replica: bigint,
    records: readonly FileRecord[],
    maxSequence: bigint,
    now: number = Date.now(),
  ): void {
    const key = replicaKey(replica);
    this.#store.transaction(() => {
      const params = new Array<SQLInputValue>(UPSERT_ROWS * UPSERT_COLUMNS);
      let i = 0;
      for (; i + UPSERT_ROWS <= records.length; i += UPSERT_ROWS) {
        for (let k = 0; k < UPSERT_ROWS; k++) {
          bindRecord(params, k * UPSERT_COLUMNS, key, records[i + k]!);
        }
        this.#stmt.upsertRows.run(...params);
      }
      const one = params;
      one.length = UPSERT_COLUMNS;
      for (; i < records.length; i++) {
        bindRecord(one, 0, key, records[i]!);
        this.#stmt.upsert.run(...one);
      }
      this.#stmt.setMax.run(key, maxSequence, now);
    });
  }

  /** The long chunk list of a record read before (see `READ_COLUMNS`). */
  readonly #longList = (
    replica: Uint8Array,
    path: string,
    hash: Uint8Array,
  ): Uint8Array => {
    const row = this.#stmt.longList.get(replica, path, hash) as
      | Row
      | undefined;
    if (row === undefined) throw new ChunkListGoneError(path);
    return row.chunks as Uint8Array;
  };

  /** `replica`'s record of `path`, if any. */
  get(replica: bigint, path: string): FileRecord | undefined {
    const row = this.#stmt.get.get(replicaKey(replica), path) as
      | Row
      | undefined;
    return row === undefined ? undefined : entryOf(row, this.#longList).record;
  }

  /**
   * Local records changed after `sequence` (at most `limit`, in sequence
   * order), each marked with whether `replica`'s record of its path has
   * exactly the local version. Versions only ever grow and each state of a
   * path has its own, so the replica then holds that state. One query for a
   * page, without decoding the records.
   */
  heldSince(replica: bigint, sequence: number, limit: number): HeldMark[] {
    return (this.#stmt.heldSince.all(
      replicaKey(replica),
      sequence,
      limit,
    ) as Row[])
      .map((r) => ({
        path: String(r.path),
        sequence: Number(r.sequence),
        held: Number(r.held) === 1,
      }));
  }

  /** Every replica's record of `path`. */
  recordsFor(path: string): RemoteEntry[] {
    return (this.#stmt.forPath.all(path) as Row[]).map((row) =>
      entryOf(row, this.#longList)
    );
  }

  /**
   * {@linkcode recordsFor} each of `paths` that has records, by path, in
   * one query: the puller plans a round of 2,000 paths at once.
   */
  recordsForMany(paths: readonly string[]): Map<string, RemoteEntry[]> {
    const found = new Map<string, RemoteEntry[]>();
    if (paths.length === 0) return found;
    const rows = this.#stmt.forPaths.all(JSON.stringify(paths)) as Row[];
    for (const row of rows) {
      const entry = entryOf(row, this.#longList);
      const list = found.get(entry.record.path);
      if (list === undefined) found.set(entry.record.path, [entry]);
      else list.push(entry);
    }
    return found;
  }

  /** True when some peer's record of `path` (live or deleted) is stored. */
  knows(path: string): boolean {
    return this.#stmt.knows.get(path) !== undefined;
  }

  /** The version of the local record of `path`, without decoding the rest. */
  localVersion(path: string): VersionVector | undefined {
    const row = this.#stmt.localVersion.get(path) as Row | undefined;
    return row === undefined
      ? undefined
      : decodeVersion(row.version as Uint8Array);
  }

  /** {@linkcode localVersion} of each of `paths` that has a local record, by path, in one query. */
  localVersions(paths: readonly string[]): Map<string, VersionVector> {
    const found = new Map<string, VersionVector>();
    if (paths.length === 0) return found;
    const rows = this.#stmt.localVersions.all(JSON.stringify(paths)) as Row[];
    for (const row of rows) {
      found.set(String(row.path), decodeVersion(row.version as Uint8Array));
    }
    return found;
  }

  /**
   * Replicas whose record of `path` has exactly `version` (an encoded
   * vector is canonical: replicas ascending, no zero counter), without
   * decoding any record.
   */
  replicasWithVersion(path: string, version: VersionVector): bigint[] {
    return (this.#stmt.withVersion.all(path, encodeVersion(version)) as Row[])
      .map((r) => replicaOf(r.replica));
  }

  /**
   * {@linkcode replicasWithVersion} of each of `records`, by path, in one
   * query (one each was 3.6 s of a receiver's main thread naming the
   * sender of 100,000 pulled files); paths no replica holds in that
   * version are left out.
   */
  replicasWithVersions(
    records: readonly { path: string; version: VersionVector }[],
  ): Map<string, bigint[]> {
    if (records.length === 0) return new Map();
    const pairs = records.map((r) => [r.path, toHex(encodeVersion(r.version))]);
    return replicasByPath(
      this.#stmt.withVersions.all(JSON.stringify(pairs)) as Row[],
    );
  }

  /** Replicas whose record of `path` is a live file with content `hash`. */
  replicasWithContent(path: string, hash: Uint8Array): bigint[] {
    return (this.#stmt.withHash.all(path, hash) as Row[]).map((r) =>
      replicaOf(r.replica)
    );
  }

  /**
   * {@linkcode replicasWithContent} of each of `files`, by path, in one
   * query (one each was 2.7 s of a receiver's main thread pulling 100,000
   * small files); paths no replica holds with that content are left out.
   */
  replicasWithContents(
    files: readonly { path: string; hash: Uint8Array }[],
  ): Map<string, bigint[]> {
    if (files.length === 0) return new Map();
    const pairs = files.map((f) => [f.path, toHex(f.hash)]);
    return replicasByPath(
      this.#stmt.withHashes.all(JSON.stringify(pairs)) as Row[],
    );
  }

  /**
   * Paths (after `after`, in order, at most `limit`) where some replica's
   * record differs in version from the local one, or names a live entry the
   * local index lacks: the candidates for work after a restart.
   */
  pendingPaths(after: string, limit: number): string[] {
    return (this.#stmt.pending.all(after, limit) as Row[]).map((r) =>
      String(r.path)
    );
  }

  /** Local records changed after `sequence` (path, deleted, sequence), at most `limit`. */
  localSince(sequence: number, limit: number): LocalPathRow[] {
    return (this.#stmt.localSince.all(sequence, limit) as Row[]).map((r) => ({
      path: String(r.path),
      deleted: Number(r.deleted) === 1,
      sequence: Number(r.sequence),
    }));
  }

  /**
   * Live files of the local index and their total size. Counted again
   * only after the local index took a change (a new local sequence), and
   * with `maxAgeMs`, not within that long of the last count: the count
   * reads every row (30 ms at 100,000 files), the status line asks up to
   * four times a second, and during a pull of 100,000 files every ask
   * found a new sequence (3 s of the receiver's main thread).
   */
  localTotals(maxAgeMs = 0, now: number = performance.now()): LocalTotals {
    const at = this.#store.maxSequence;
    const last = this.#totals;
    if (
      last !== undefined && (last.at === at || now - last.countedAt < maxAgeMs)
    ) {
      return last.value;
    }
    const row = this.#stmt.totals.get() as Row;
    const value = { files: Number(row.n), bytes: Number(row.bytes) };
    this.#totals = { at, value, countedAt: now };
    return value;
  }

  /**
   * Of `deletes` (path → content hash, lower-case hex), the paths whose
   * content lives on at another path, in a live local file or in a peer's
   * live record (a folder renamed on a peer: its new names may not be
   * pulled yet): deleting them loses nothing. Reads every live record's
   * hash once; meant for the rare moment a mass delete is judged.
   */
  contentKeptElsewhere(deletes: ReadonlyMap<string, string>): Set<string> {
    const wanted = new Set(deletes.values());
    const keptHashes = new Set<string>();
    for (const row of this.#stmt.liveHashes.iterate() as Iterable<Row>) {
      // Another copy that goes too keeps nothing.
      if (deletes.has(String(row.path))) continue;
      const hash = toHex(row.hash as Uint8Array);
      if (wanted.has(hash)) keptHashes.add(hash);
    }
    const kept = new Set<string>();
    for (const [path, hash] of deletes) {
      if (keptHashes.has(hash)) kept.add(path);
    }
    return kept;
  }

  /**
   * Live local files that `replica` holds, and their size: those it
   * confirmed holding (local sequence up to `through`) and those its own
   * records show in the same version. (A peer does not announce back what
   * it took from us, so its records alone undercount.)
   */
  heldTotals(replica: bigint, through: number): LocalTotals {
    const row = this.#stmt.held.get(through, replicaKey(replica)) as Row;
    return { files: Number(row.n), bytes: Number(row.bytes) };
  }
}

/** The replicas of each path among `rows` (columns `path`, `replica`). */
function replicasByPath(rows: readonly Row[]): Map<string, bigint[]> {
  const found = new Map<string, bigint[]>();
  for (const row of rows) {
    const path = String(row.path);
    let list = found.get(path);
    if (list === undefined) found.set(path, list = []);
    list.push(replicaOf(row.replica));
  }
  return found;
}
