/**
 * The persistent index of one folder: `<folder>/.dsync/index.db`, SQLite in
 * WAL mode through `node:sqlite`. Holds the replica id, the local sequence
 * counter and one row per path (file, dir, symlink or tombstone).
 */

import { type PreviousList, PreviousLists } from "./previous_lists.ts";
import { getLogger } from "@logtape/logtape";
import {
  DatabaseSync,
  type SQLInputValue,
  type StatementSync,
} from "node:sqlite";
import { decodeChunks, encodeChunksOf } from "./chunk_list.ts";
import { fileHashOfChunks } from "./hash.ts";
import { FILE_KINDS, type FileKind, type FileRecord } from "./file_record.ts";
import { toOsPath } from "./rel_path.ts";
import { INDEX_FILE, STATE_DIR } from "./state_dir.ts";
import {
  decodeVersion,
  encodeVersion,
  type VersionVector,
} from "./version_vector.ts";

/** How long tombstones are kept before {@linkcode IndexStore.purgeTombstones} may drop them. */
export const TOMBSTONE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

const log = getLogger(["dsync", "index"]);

/**
 * 2: a file's hash is `fileHashOf` its chunk hashes (1: BLAKE3 of the
 * content); a version 1 index is migrated in place from its chunk lists.
 */
const SCHEMA_VERSION = 2;

/** The index database cannot be read: corrupt, not a database, or of an unknown schema. */
export class IndexCorruptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IndexCorruptError";
  }
}

/**
 * The index was written by a dsync with another schema version. Not a
 * corruption: {@linkcode IndexStore.openOrRebuild} refuses it rather than
 * set aside an index a newer dsync can still read.
 */
export class IndexSchemaError extends IndexCorruptError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IndexSchemaError";
  }
}

/** The fields of a stored record that change detection needs; no chunk list. */
export interface StoredStat {
  readonly path: string;
  readonly kind: FileKind;
  readonly size: number;
  /** Stored mtime truncated to milliseconds (what the OS reports here). */
  readonly mtimeMs: number;
  readonly exec: boolean;
  readonly deleted: boolean;
  readonly inode?: number;
  readonly dev?: number;
}

/** Local-only update of what was last seen on disk; no new version nor sequence. */
export interface LocalStatUpdate {
  readonly path: string;
  readonly mtimeNs: bigint;
  readonly inode?: number;
  readonly dev?: number;
}

/** One row of {@linkcode IndexStore.chunkListsSince}. */
export interface ChunkListRow {
  readonly path: string;
  readonly sequence: number;
  /** True for a live file (only those have chunks). */
  readonly liveFile: boolean;
  /** Chunks as encoded by {@linkcode encodeChunks}: (u32 BE length, 32-byte hash) each. */
  readonly chunks: Uint8Array;
}

/**
 * One row of {@linkcode IndexStore.changesSince}: what a stored record says
 * changed, without its chunk list or hash.
 */
export interface StoredChange {
  readonly path: string;
  readonly kind: FileKind;
  readonly size: number;
  readonly deleted: boolean;
  readonly version: FileRecord["version"];
  readonly sequence: number;
}

/** Options of {@linkcode IndexStore.open}. */
export interface IndexStoreOptions {
  /** Clock for tombstone timestamps (epoch ms); defaults to `Date.now`. */
  readonly now?: () => number;
}

type Row = Record<string, unknown>;

const STAT_PAGE = 10_000;
/** Columns of STAT_COLUMNS: the index of a column selected after them. */
const STAT_COLUMN_COUNT = 8;
const STAT_ROWID = STAT_COLUMN_COUNT;
const STAT_COLUMNS =
  "path, kind, size, mtime_ns / 1000000 AS mtime_ms, exec, deleted, inode, dev";
const RECORD_COLUMNS = "path, kind, size, mtime_ns / 1000000 AS mtime_ms, " +
  "mtime_ns % 1000000 AS mtime_rem, exec, deleted, sequence, inode, dev, " +
  "symlink_target, hash, version, chunks";

/** Columns an upsert binds per record. */
const UPSERT_COLUMNS = 14;
/**
 * Records stored by one statement: binding 32 rows at once costs less per
 * row than 32 statement runs (each a trip into SQLite and back).
 */
const UPSERT_ROWS = 32;

/** The upsert of `rows` records, one statement. */
function upsertSql(rows: number): string {
  const row = `(${new Array(UPSERT_COLUMNS).fill("?").join(", ")})`;
  return `INSERT INTO files (path, kind, size, mtime_ns, exec, deleted,
      sequence, inode, dev, deleted_at, symlink_target, hash, version, chunks)
    VALUES ${new Array(rows).fill(row).join(", ")}
    ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, size = excluded.size,
      mtime_ns = excluded.mtime_ns, exec = excluded.exec, deleted = excluded.deleted,
      sequence = excluded.sequence, inode = excluded.inode, dev = excluded.dev,
      deleted_at = CASE WHEN excluded.deleted = 0 THEN NULL
        ELSE coalesce(files.deleted_at, excluded.deleted_at) END,
      symlink_target = excluded.symlink_target, hash = excluded.hash,
      version = excluded.version, chunks = excluded.chunks`;
}

function isCorruption(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (err as { code?: unknown }).code === "ERR_SQLITE_ERROR" &&
    /not a database|malformed|corrupt|unable to open/i.test(err.message);
}

/**
 * True for an index that is damaged (so rebuilding loses nothing readable),
 * false for one that is busy, unreadable for permissions, or of another
 * schema.
 */
function isRebuildable(err: unknown): boolean {
  if (!(err instanceof IndexCorruptError) || err instanceof IndexSchemaError) {
    return false;
  }
  const cause = err.cause;
  if (!(cause instanceof Error)) return true; // our own validation of a row
  return /not a database|malformed|corrupt/i.test(cause.message) ||
    cause instanceof RangeError;
}

/**
 * Schema 1 → 2: recomputes each live file's hash from its stored chunk
 * list (the content is unchanged, so versions stay as they are).
 */
function migrateFileHashes(db: DatabaseSync): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    const rows = db.prepare(
      "SELECT rowid, chunks FROM files WHERE kind = ? AND deleted = 0",
    ).all(kindCode("file")) as Row[];
    const update = db.prepare("UPDATE files SET hash = ? WHERE rowid = ?");
    for (const row of rows) {
      const chunks = decodeChunks(row.chunks as Uint8Array);
      update.run(fileHashOfChunks(chunks), row.rowid as number);
    }
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'")
      .run(SCHEMA_VERSION);
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw new IndexCorruptError(
      "Cannot migrate the index to schema version 2",
      { cause: err },
    );
  }
}

function kindCode(kind: FileKind): number {
  return FILE_KINDS.indexOf(kind);
}

function kindOf(code: unknown): FileKind {
  const kind = FILE_KINDS[Number(code)];
  if (kind === undefined) {
    throw new RangeError(`Unknown file kind code ${String(code)}`);
  }
  return kind;
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** Reads a row of STAT_COLUMNS returned as an array (the fast path). */
function statFromArray(row: unknown[]): StoredStat {
  const [path, kind, size, mtimeMs, exec, deleted, inode, dev] = row;
  const stat: {
    path: string;
    kind: FileKind;
    size: number;
    mtimeMs: number;
    exec: boolean;
    deleted: boolean;
    inode?: number;
    dev?: number;
  } = {
    path: String(path),
    kind: kindOf(kind),
    size: Number(size),
    mtimeMs: Number(mtimeMs),
    exec: exec === 1,
    deleted: deleted === 1,
  };
  if (inode !== null && inode !== undefined) stat.inode = Number(inode);
  if (dev !== null && dev !== undefined) stat.dev = Number(dev);
  return stat;
}

function recordFromRow(row: Row): FileRecord {
  const inode = optionalNumber(row.inode);
  const dev = optionalNumber(row.dev);
  const target = row.symlink_target;
  return {
    path: String(row.path),
    kind: kindOf(row.kind),
    size: Number(row.size),
    mtimeNs: BigInt(Number(row.mtime_ms)) * 1_000_000n +
      BigInt(Number(row.mtime_rem)),
    exec: row.exec === 1,
    hash: row.hash as Uint8Array,
    chunks: decodeChunks(row.chunks as Uint8Array),
    version: decodeVersion(row.version as Uint8Array),
    deleted: row.deleted === 1,
    sequence: Number(row.sequence),
    ...(typeof target === "string" ? { symlinkTarget: target } : {}),
    ...(inode === undefined ? {} : { inode }),
    ...(dev === undefined ? {} : { dev }),
  };
}

/** Rows as arrays: cheaper than objects. In node:sqlite, not yet in Deno's types. */
function returnArrays(stmt: StatementSync): void {
  (stmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(
    true,
  );
}

/** Runs a row decoder, turning a malformed value into IndexCorruptError. */
function decodeRow<T>(dbPath: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw new IndexCorruptError(
      `Index ${dbPath} holds a malformed row: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function randomReplicaId(): bigint {
  const bytes = new Uint8Array(8);
  let id = 0n;
  while (id === 0n) {
    crypto.getRandomValues(bytes);
    id = new DataView(bytes.buffer).getBigUint64(0);
  }
  return id;
}

/**
 * The connection of an open store, for the views `src/index/` builds over
 * it (`RemoteIndex.of`), so the database has one connection and one owner.
 * Not exported from mod.ts.
 */
export let connectionOf: (store: IndexStore) => DatabaseSync;

/** The index of one folder. Synchronous calls; one instance per folder. */
export class IndexStore {
  static {
    connectionOf = (store) => store.#db;
  }

  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #path: string;
  readonly #replicaId: bigint;
  #sequence: number;
  #inTransaction = false;
  #closed = false;
  #lastVersion: VersionVector | undefined;
  #lastVersionBytes: Uint8Array = new Uint8Array(0);
  /** Big files' versions just replaced (see `previous_lists.ts`). */
  readonly #previous = new PreviousLists();
  readonly #stmt: {
    get: StatementSync;
    getMany: StatementSync;
    getStat: StatementSync;
    sequenceOf: StatementSync;
    statsWithSequence: StatementSync;
    upsert: StatementSync;
    upsertRows: StatementSync;
    touch: StatementSync;
    setSequence: StatementSync;
    since: StatementSync;
    allStats: StatementSync;
    statsUnder: StatementSync;
    purge: StatementSync;
    count: StatementSync;
    chunkLists: StatementSync;
    changes: StatementSync;
  };

  private constructor(db: DatabaseSync, path: string, now: () => number) {
    this.#db = db;
    this.#path = path;
    this.#now = now;
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    // A statement of many rows keeps a statement journal (to undo just
    // itself); in a temp file that cost more system time than the rows.
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec(
      `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) STRICT`,
    );
    const meta = (key: string): unknown =>
      (db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
        | Row
        | undefined)?.value;
    let version = meta("schema_version");
    if (version !== undefined && Number(version) === 1) {
      migrateFileHashes(db);
      version = SCHEMA_VERSION;
    }
    if (version !== undefined && Number(version) !== SCHEMA_VERSION) {
      throw new IndexSchemaError(
        `Index ${path} has schema version ${
          String(version)
        }, expected ${SCHEMA_VERSION}`,
      );
    }
    // Stat columns come first and the chunk list last, so scans that only
    // read the stat columns never touch the chunk list's overflow pages.
    db.exec(`CREATE TABLE IF NOT EXISTS files (
      path TEXT NOT NULL UNIQUE,
      kind INTEGER NOT NULL,
      size INTEGER NOT NULL,
      mtime_ns INTEGER NOT NULL,
      exec INTEGER NOT NULL,
      deleted INTEGER NOT NULL,
      sequence INTEGER NOT NULL,
      inode INTEGER,
      dev INTEGER,
      deleted_at INTEGER,
      symlink_target TEXT,
      hash BLOB NOT NULL,
      version BLOB NOT NULL,
      chunks BLOB NOT NULL
    )`);
    db.exec("CREATE INDEX IF NOT EXISTS files_sequence ON files (sequence)");
    db.exec(
      "CREATE INDEX IF NOT EXISTS files_deleted_at ON files (deleted_at) WHERE deleted_at IS NOT NULL",
    );
    if (version === undefined) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)")
        .run(SCHEMA_VERSION);
    }
    let replica = meta("replica_id");
    if (replica === undefined) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, randomReplicaId());
      db.prepare("INSERT INTO meta (key, value) VALUES ('replica_id', ?)").run(
        bytes,
      );
      replica = bytes;
    }
    if (!(replica instanceof Uint8Array) || replica.length !== 8) {
      throw new IndexCorruptError(`Index ${path} has a malformed replica id`);
    }
    this.#replicaId = new DataView(replica.buffer, replica.byteOffset, 8)
      .getBigUint64(0);
    const storedSequence = Number(meta("sequence") ?? 0);
    const maxRow = db.prepare("SELECT max(sequence) AS m FROM files").get() as
      | Row
      | undefined;
    this.#sequence = Math.max(storedSequence, Number(maxRow?.m ?? 0));

    this.#stmt = {
      get: db.prepare(`SELECT ${RECORD_COLUMNS} FROM files WHERE path = ?`),
      getMany: db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM files
        WHERE path IN (SELECT value FROM json_each(?))`,
      ),
      getStat: db.prepare(`SELECT ${STAT_COLUMNS} FROM files WHERE path = ?`),
      sequenceOf: db.prepare("SELECT sequence FROM files WHERE path = ?"),
      statsWithSequence: db.prepare(
        `SELECT ${STAT_COLUMNS}, sequence FROM files
        WHERE path IN (SELECT value FROM json_each(?))`,
      ),
      upsert: db.prepare(upsertSql(1)),
      upsertRows: db.prepare(upsertSql(UPSERT_ROWS)),
      touch: db.prepare(
        "UPDATE files SET mtime_ns = ?, inode = ?, dev = ? WHERE path = ?",
      ),
      setSequence: db.prepare(
        "INSERT INTO meta (key, value) VALUES ('sequence', ?) " +
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      since: db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM files WHERE sequence > ? ORDER BY sequence LIMIT ?`,
      ),
      allStats: db.prepare(
        `SELECT ${STAT_COLUMNS}, rowid FROM files WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      ),
      statsUnder: db.prepare(
        `SELECT ${STAT_COLUMNS} FROM files WHERE path > ? AND path < ? ORDER BY path LIMIT ?`,
      ),
      purge: db.prepare(
        "DELETE FROM files WHERE deleted = 1 AND deleted_at < ?",
      ),
      count: db.prepare("SELECT count(*) AS n FROM files"),
      chunkLists: db.prepare(
        `SELECT path, sequence, kind = 0 AND deleted = 0, chunks FROM files
        WHERE sequence > ? ORDER BY sequence LIMIT ?`,
      ),
      changes: db.prepare(
        `SELECT path, kind, size, deleted, version, sequence FROM files
        WHERE sequence > ? ORDER BY sequence LIMIT ?`,
      ),
    };
    for (
      const stmt of [
        this.#stmt.getStat,
        this.#stmt.statsWithSequence,
        this.#stmt.allStats,
        this.#stmt.statsUnder,
        this.#stmt.chunkLists,
        this.#stmt.changes,
      ]
    ) {
      returnArrays(stmt);
    }
  }

  /**
   * Opens (creating if needed) `<folder>/.dsync/index.db`; the folder must
   * exist (else `Deno.errors.NotFound`). Throws {@linkcode IndexCorruptError}
   * when the file is not a usable index.
   */
  static open(folder: string, options: IndexStoreOptions = {}): IndexStore {
    // The folder must exist: creating it here would hide a wrong path or an
    // unmounted drive.
    if (!Deno.statSync(folder).isDirectory) {
      throw new Deno.errors.NotADirectory(
        `Cannot open the index of ${folder}: not a directory`,
      );
    }
    const dir = toOsPath(folder, STATE_DIR);
    try {
      Deno.mkdirSync(dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const path = toOsPath(dir, INDEX_FILE);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      return new IndexStore(db, path, options.now ?? Date.now);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Already unusable; the original error is what matters.
      }
      if (err instanceof IndexCorruptError) throw err;
      if (
        isCorruption(err) ||
        (err as { code?: unknown }).code === "ERR_SQLITE_ERROR"
      ) {
        throw new IndexCorruptError(
          `Cannot open index ${path}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * Opens the index like {@linkcode IndexStore.open}, first checking the
   * whole database (`PRAGMA quick_check`, ~1 µs per row). A corrupt index
   * (not a database, truncated, malformed pages or rows) is renamed aside
   * to `index.db.corrupt-<UTC time>` with its `-wal`/`-shm` files, and a
   * fresh one is created: a new replica id and no records, which the next
   * scan fills like a lost index (every file new, nothing deleted). An
   * index of another schema version is not touched: that throws
   * {@linkcode IndexSchemaError}.
   */
  static openOrRebuild(
    folder: string,
    options: IndexStoreOptions = {},
  ): IndexStore {
    let problem: IndexCorruptError;
    try {
      const store = IndexStore.open(folder, options);
      let issues: string[];
      try {
        issues = store.#integrityIssues();
      } catch (err) {
        store.close();
        throw err;
      }
      if (issues.length === 0) return store;
      store.close();
      problem = new IndexCorruptError(
        `Index ${store.dbPath} failed its integrity check: ${
          issues.slice(0, 3).join("; ")
        }`,
      );
    } catch (err) {
      if (!isRebuildable(err)) throw err;
      problem = err as IndexCorruptError;
    }
    const path = toOsPath(toOsPath(folder, STATE_DIR), INDEX_FILE);
    const stamp = new Date(options.now?.() ?? Date.now()).toISOString()
      .replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const aside = `${path}.corrupt-${stamp}`;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.renameSync(path + suffix, aside + suffix);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    log.warn(
      "The index was unreadable ({message}); kept it as {aside} and rebuilt it from the folder. Nothing is deleted: files are indexed as new and merged with the peers",
      { message: problem.message, aside },
    );
    return IndexStore.open(folder, options);
  }

  /** What `PRAGMA quick_check` finds wrong (empty when the database is sound). */
  #integrityIssues(): string[] {
    return this.#guard(() =>
      (this.#db.prepare("PRAGMA quick_check(10)").all() as Row[])
        .map((row) => String(Object.values(row)[0]))
        .filter((line) => line !== "ok")
    );
  }

  /** This folder copy's replica id (random, unsigned 64-bit, never 0). */
  get replicaId(): bigint {
    return this.#replicaId;
  }

  /** The highest local sequence number assigned so far (0 when none). */
  get maxSequence(): number {
    return this.#sequence;
  }

  /** Path of the database file. */
  get dbPath(): string {
    return this.#path;
  }

  /** The record of `path`, or undefined. */
  get(path: string): FileRecord | undefined {
    return this.#guard(() => {
      const row = this.#stmt.get.get(path) as Row | undefined;
      return row === undefined
        ? undefined
        : decodeRow(this.#path, () => recordFromRow(row));
    });
  }

  /**
   * The records of those of `paths` that have one, by path: one query for
   * a batch (a scan of 100,000 new files spent 12% of its main thread in
   * one lookup per file).
   */
  getMany(paths: readonly string[]): Map<string, FileRecord> {
    return this.#guard(() => {
      const found = new Map<string, FileRecord>();
      if (paths.length === 0) return found;
      const rows = this.#stmt.getMany.all(JSON.stringify(paths)) as Row[];
      for (const row of rows) {
        const record = decodeRow(this.#path, () => recordFromRow(row));
        found.set(record.path, record);
      }
      return found;
    });
  }

  /** Change-detection fields of `path`, or undefined. */
  getStat(path: string): StoredStat | undefined {
    return this.#guard(() => {
      const row = this.#stmt.getStat.get(path) as unknown as
        | unknown[]
        | undefined;
      return row === undefined
        ? undefined
        : decodeRow(this.#path, () => statFromArray(row));
    });
  }

  /**
   * The sequence of the record of `path`, or undefined when there is none.
   * Every stored change of a path gets a new sequence (a local-stat touch
   * does not), so equal sequences mean the record was not replaced.
   */
  sequenceOf(path: string): number | undefined {
    return this.#guard(() => {
      const row = this.#stmt.sequenceOf.get(path) as Row | undefined;
      return row === undefined ? undefined : Number(row.sequence);
    });
  }

  /**
   * {@linkcode getStat} and {@linkcode sequenceOf} of each of `paths` that
   * has a record, by path, in one query: a group of small files checks
   * them all under the apply gate (one lookup each cost a receiver of
   * 100,000 files two queries per file).
   */
  statsWithSequence(
    paths: readonly string[],
  ): Map<string, { readonly stat: StoredStat; readonly sequence: number }> {
    return this.#guard(() => {
      const found = new Map<
        string,
        { readonly stat: StoredStat; readonly sequence: number }
      >();
      if (paths.length === 0) return found;
      const rows = this.#stmt.statsWithSequence.all(
        JSON.stringify(paths),
      ) as unknown as unknown[][];
      for (const row of rows) {
        const stat = decodeRow(this.#path, () => statFromArray(row));
        found.set(stat.path, {
          stat,
          sequence: Number(row[STAT_COLUMN_COUNT]),
        });
      }
      return found;
    });
  }

  /** Stores `record` under the next local sequence; returns it as stored. */
  put(record: FileRecord): FileRecord {
    return { ...record, sequence: this.putMany([record]) };
  }

  /**
   * Stores records in one transaction, each under the next local sequence
   * (consecutive, in order); returns the last sequence assigned.
   */
  putMany(records: readonly FileRecord[]): number {
    if (records.length === 0) return this.#sequence;
    const startSequence = this.#sequence;
    try {
      return this.#putAll(records);
    } catch (err) {
      this.#sequence = startSequence;
      throw err;
    }
  }

  /**
   * `encodeVersion(v)`, remembered for the last vector: a scan gives every
   * new file the same (frozen) vector, and encoding it cost 4% of a cold
   * scan's main thread.
   */
  #encodeVersion(v: VersionVector): Uint8Array {
    if (v !== this.#lastVersion) {
      this.#lastVersion = v;
      this.#lastVersionBytes = encodeVersion(v);
    }
    return this.#lastVersionBytes;
  }

  /** The version of the big file at `path` replaced last, if still kept. */
  previousList(path: string): PreviousList | undefined {
    return this.#previous.get(path);
  }

  #putAll(records: readonly FileRecord[]): number {
    for (const record of records) {
      if (!PreviousLists.worthReading(record)) continue;
      const old = this.get(record.path);
      if (old !== undefined) this.#previous.replaced(old, record);
    }
    return this.transaction(() => {
      const now = this.#now();
      const params = new Array<SQLInputValue>(UPSERT_ROWS * UPSERT_COLUMNS);
      let i = 0;
      for (; i + UPSERT_ROWS <= records.length; i += UPSERT_ROWS) {
        for (let r = 0; r < UPSERT_ROWS; r++) {
          this.#bindRecord(params, r * UPSERT_COLUMNS, records[i + r]!, now);
        }
        this.#stmt.upsertRows.run(...params);
      }
      const one = params;
      one.length = UPSERT_COLUMNS;
      for (; i < records.length; i++) {
        this.#bindRecord(one, 0, records[i]!, now);
        this.#stmt.upsert.run(...one);
      }
      this.#stmt.setSequence.run(this.#sequence);
      return this.#sequence;
    });
  }

  /** Puts the upsert parameters of `record` at `at`, under the next sequence. */
  #bindRecord(
    params: SQLInputValue[],
    at: number,
    record: FileRecord,
    now: number,
  ): void {
    const sequence = ++this.#sequence;
    params[at] = record.path;
    params[at + 1] = kindCode(record.kind);
    params[at + 2] = record.size;
    params[at + 3] = record.mtimeNs;
    params[at + 4] = record.exec ? 1 : 0;
    params[at + 5] = record.deleted ? 1 : 0;
    params[at + 6] = sequence;
    params[at + 7] = record.inode ?? null;
    params[at + 8] = record.dev ?? null;
    params[at + 9] = record.deleted ? now : null;
    params[at + 10] = record.symlinkTarget ?? null;
    params[at + 11] = record.hash;
    params[at + 12] = this.#encodeVersion(record.version);
    params[at + 13] = encodeChunksOf(record);
  }

  /** Updates mtime/inode/dev of existing records without a new sequence. */
  touchMany(updates: readonly LocalStatUpdate[]): void {
    if (updates.length === 0) return;
    this.transaction(() => {
      for (const u of updates) {
        this.#stmt.touch.run(u.mtimeNs, u.inode ?? null, u.dev ?? null, u.path);
      }
    });
  }

  /**
   * Change-detection fields of every record strictly below directory `dir`
   * (of every record when `dir` is `""`), tombstones included, by path.
   */
  statMap(dir = ""): Map<string, StoredStat> {
    return this.#guard(() => {
      const map = new Map<string, StoredStat>();
      // Pages of arrays: all() costs much less per row than iterate(), and
      // paging keeps the transient arrays small.
      if (dir === "") {
        let after = 0;
        for (;;) {
          const rows = this.#stmt.allStats.all(
            after,
            STAT_PAGE,
          ) as unknown as unknown[][];
          for (const row of rows) this.#addStat(map, row);
          if (rows.length < STAT_PAGE) return map;
          after = Number(rows[rows.length - 1]![STAT_ROWID]);
        }
      }
      let after = `${dir}/`;
      for (;;) {
        const rows = this.#stmt.statsUnder.all(
          after,
          `${dir}0`,
          STAT_PAGE,
        ) as unknown as unknown[][];
        for (const row of rows) this.#addStat(map, row);
        if (rows.length < STAT_PAGE) return map;
        after = String(rows[rows.length - 1]![0]);
      }
    });
  }

  #addStat(map: Map<string, StoredStat>, row: unknown[]): void {
    const stat = decodeRow(this.#path, () => statFromArray(row));
    map.set(stat.path, stat);
  }

  /** Records with a sequence above `sequence`, in sequence order, at most `limit`. */
  since(sequence: number, limit: number): FileRecord[] {
    return this.#guard(() =>
      (this.#stmt.since.all(sequence, limit) as Row[]).map((row) =>
        decodeRow(this.#path, () => recordFromRow(row))
      )
    );
  }

  /**
   * What the records with a sequence above `sequence` say changed, in
   * sequence order, at most `limit`: {@linkcode since} without the chunk
   * lists and hashes (the change feed reads every record stored, and
   * decoding whole records was most of its 4-9 s per 100,000 files).
   */
  changesSince(sequence: number, limit: number): StoredChange[] {
    return this.#guard(() =>
      (this.#stmt.changes.all(sequence, limit) as unknown as unknown[][])
        .map((row) =>
          decodeRow(this.#path, () => ({
            path: String(row[0]),
            kind: kindOf(row[1]),
            size: Number(row[2]),
            deleted: row[3] === 1,
            version: decodeVersion(row[4] as Uint8Array),
            sequence: Number(row[5]),
          }))
        )
    );
  }

  /**
   * The chunk lists of records with a sequence above `sequence`, in sequence
   * order, at most `limit`, without decoding whole records (for an index of
   * where chunks lie). `chunks` is the stored encoding of
   * {@linkcode encodeChunks}; `liveFile` is false for tombstones, dirs and
   * symlinks.
   */
  chunkListsSince(sequence: number, limit: number): ChunkListRow[] {
    return this.#guard(() =>
      (this.#stmt.chunkLists.all(sequence, limit) as unknown as unknown[][])
        .map(([path, seq, liveFile, chunks]) => ({
          path: String(path),
          sequence: Number(seq),
          liveFile: liveFile === 1,
          chunks: chunks as Uint8Array,
        }))
    );
  }

  /** Number of records, tombstones included. */
  count(): number {
    return this.#guard(() => Number((this.#stmt.count.get() as Row).n));
  }

  /** Deletes tombstones recorded before `beforeMs` (epoch ms); returns how many. */
  purgeTombstones(beforeMs: number): number {
    return this.#guard(() => Number(this.#stmt.purge.run(beforeMs).changes));
  }

  /** Runs `fn` in one write transaction (joins an enclosing one). */
  transaction<T>(fn: () => T): T {
    if (this.#inTransaction) return fn();
    return this.#guard(() => {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#inTransaction = true;
      try {
        const result = fn();
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        // SQLite rolls back by itself on some errors (a full disk at
        // COMMIT); then ROLLBACK fails and would hide the real error.
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      } finally {
        this.#inTransaction = false;
      }
    });
  }

  /** Closes the database; further calls throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof IndexCorruptError) throw err;
      if (isCorruption(err)) {
        throw new IndexCorruptError(
          `Index ${this.#path} is corrupt: ${(err as Error).message}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}
