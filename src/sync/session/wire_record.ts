/**
 * The edge between the index's {@linkcode FileRecord} and the wire's
 * {@linkcode WireFileRecord}: records are converted (and checked) here, so
 * the rest of the engine only sees domain records.
 *
 * Outgoing: a symlink travels with size 0 (its target says it all), counters
 * and sequences become bigints, local fields (inode, dev) stay home. A
 * record the wire cannot carry (a local name Windows cannot hold, a file of
 * more chunks than a message fits) is reported by
 * {@linkcode wireRecordProblem} so the sender can skip it.
 *
 * Incoming: paths under `.dsync/` (in any case), ignored paths and
 * `.dsyncignore` are dropped (`undefined`); counters above
 * {@linkcode MAX_COUNTER} (of any replica), invalid paths and, on a case-insensitive
 * disk, a case-only variant of an existing local path are refused with a
 * {@linkcode WireRecordError}.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  chunkBytesCovered,
  counterOf,
  fileHashOfList,
  type FileRecord,
  isInStateDir,
  MAX_VERSION_COUNTER,
  packChunkBytes,
  sameBytes,
  STATE_DIR,
  toOsPath,
  versionOf,
  withLazyChunks,
} from "../../index/mod.ts";
import {
  HASH_SIZE,
  LOCAL_NAMING_RULES,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS_PER_RECORD,
  MAX_FILE_SIZE,
  MAX_MTIME_NS,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_VERSION_ENTRIES,
  MIN_MTIME_NS,
  type NamingRules,
  utf8Length,
  type WireFileRecord,
  wirePathProblem,
} from "../../protocol/mod.ts";

const log = getLogger(["dsync", "sync", "wire_record"]);

const EMPTY = new Uint8Array(0);

/** A peer's record that cannot be taken in; the record is skipped, the session goes on. */
export class WireRecordError extends Error {
  /** The record's path, as received. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WireRecordError";
    this.path = path;
  }
}

/**
 * A peer's record whose name our file system's naming rules refuse
 * (`a:b.txt` on Windows): not synced here, and reported as such.
 */
export class NameNotAllowedError extends WireRecordError {
  constructor(path: string, message: string) {
    super(path, message);
    this.name = "NameNotAllowedError";
  }
}

/** A peer's path differs only in case from a local path, on a disk that folds case. */
export class CaseCollisionError extends WireRecordError {
  /** The local path it collides with. */
  readonly existing: string;
  constructor(path: string, existing: string) {
    super(
      path,
      `Refusing "${path}": it differs only in case from local "${existing}" and this disk ignores case`,
    );
    this.name = "CaseCollisionError";
    this.existing = existing;
  }
}

/** What {@linkcode fromWireRecord} checks records against. */
export interface FromWireContext {
  /** The folder's ignore rules (always-ignored paths included). */
  readonly ignore: { ignores(relPath: string, isDir: boolean): boolean };
  /**
   * On a case-insensitive disk: the live local path that `path` would
   * collide with (same case fold, other spelling), else undefined. Omit on a
   * case-sensitive disk.
   */
  readonly caseTwin?: (path: string) => string | undefined;
  /** Which names this side can hold (default: those of this OS). */
  readonly rules?: NamingRules;
}

/**
 * Largest counter a peer may announce for *our own* replica beyond what
 * our local record of the path holds: 2^52. The index keeps counters as
 * safe integers (below 2^53) and a local edit adds one to our own entry,
 * so a peer that set our entry to 2^53 - 1 would leave a path that can
 * never be edited here again (the bump leaves the safe range and the
 * rescan fails). Only we raise our own counter, so an honest peer never
 * announces more than our record holds; the cap keeps 2^52 edits of
 * headroom. Entries of other replicas may go up to 2^53 - 1: a local edit
 * never adds to them.
 */
export const MAX_OWN_COUNTER: number = MAX_VERSION_COUNTER;

/**
 * Largest version counter of *any* replica a record may carry: the same
 * 2^52. The bound used to apply only to a device's own entry, so a hostile
 * peer's record with L's counter at 2^52 + 5 was taken by V and refused by
 * L; L's later edits then looked older than that record to V, and the two
 * stayed apart for good. A rule that depends on nothing but the record is
 * applied alike by every device: a record is refused everywhere or nowhere.
 * No honest replica gets near it (one edit adds one); a replica whose
 * counter a peer put at the bound itself writes its next edits under its
 * overflow id (see `bump`), so they are not refused.
 */
export const MAX_COUNTER: number = MAX_OWN_COUNTER;
const MAX_COUNTER_BIG = BigInt(MAX_COUNTER);

/**
 * Throws {@linkcode WireRecordError} when `wire` gives our replica
 * (`localReplica`) a counter above both {@linkcode MAX_OWN_COUNTER} and
 * the one in our record of the path (`local`, if any).
 */
export function checkOwnCounter(
  wire: WireFileRecord,
  localReplica: bigint,
  local?: FileRecord,
): void {
  for (const entry of wire.version) {
    if (entry.replica !== localReplica) continue;
    const ours = local === undefined
      ? 0
      : counterOf(local.version, localReplica);
    const limit = BigInt(Math.max(MAX_OWN_COUNTER, ours));
    if (entry.counter > limit) {
      throw new WireRecordError(
        wire.path,
        `Refusing "${wire.path}": version counter ${entry.counter} of our own replica is above ${limit}, which we never issued`,
      );
    }
  }
}

/** Why `record` cannot be sent to a peer, or undefined when it can. */
export function wireRecordProblem(record: FileRecord): string | undefined {
  const pathProblem = wirePathProblem(record.path, "posix");
  if (pathProblem !== null) return `path ${pathProblem}`;
  if (
    record.version.length < 1 || record.version.length > MAX_VERSION_ENTRIES
  ) {
    return `version of ${record.version.length} entries`;
  }
  if (record.mtimeNs < MIN_MTIME_NS || record.mtimeNs > MAX_MTIME_NS) {
    return `mtime ${record.mtimeNs} out of range`;
  }
  for (const entry of record.version) {
    if (entry.counter > MAX_COUNTER) {
      return `version counter ${entry.counter} of replica ${entry.replica} above ${MAX_COUNTER}, which every device refuses`;
    }
  }
  if (record.deleted || record.kind === "dir") return undefined;
  if (record.hash.length !== HASH_SIZE) return "no content hash";
  if (record.kind === "symlink") {
    const target = record.symlinkTarget ?? "";
    const bytes = utf8Length(target);
    if (bytes < 1 || bytes > MAX_SYMLINK_TARGET_BYTES) {
      return `symlink target of ${bytes} bytes`;
    }
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(target)) return "control character in target";
    return undefined;
  }
  if (record.size > MAX_FILE_SIZE) return `size ${record.size}`;
  if (record.chunks.length > MAX_CHUNKS_PER_RECORD) {
    return `${record.chunks.length} chunks, more than ${MAX_CHUNKS_PER_RECORD}`;
  }
  for (const chunk of record.chunks) {
    if (chunk.length < 1 || chunk.length > MAX_CHUNK_SIZE) {
      return `chunk of ${chunk.length} bytes`;
    }
  }
  return undefined;
}

/**
 * The wire form of a local record (check {@linkcode wireRecordProblem}
 * first). Deleted records and directories carry no content; a symlink's
 * size is 0 on the wire.
 */
export function toWireRecord(record: FileRecord): WireFileRecord {
  const base = {
    path: record.path,
    kind: record.kind,
    mtimeNs: record.mtimeNs,
    version: record.version.map((e) => ({
      replica: e.replica,
      counter: BigInt(e.counter),
    })),
    deleted: record.deleted,
    sequence: BigInt(record.sequence),
  };
  if (record.deleted || record.kind === "dir") {
    return { ...base, size: 0, exec: false, hash: EMPTY, chunks: [] };
  }
  if (record.kind === "symlink") {
    return {
      ...base,
      size: 0,
      exec: false,
      hash: record.hash,
      chunks: [],
      symlinkTarget: record.symlinkTarget ?? "",
    };
  }
  return {
    ...base,
    size: record.size,
    exec: record.exec,
    hash: record.hash,
    chunks: record.chunks.map((c) => ({ length: c.length, hash: c.hash })),
  };
}

/**
 * The domain record of a peer's wire record, or undefined when the path is
 * ignored here (logged at debug). The result's `sequence` is 0 (the peer's
 * sequence means nothing locally); hashes are copied so the record does not
 * pin the message buffer. Throws {@linkcode WireRecordError} (or
 * {@linkcode CaseCollisionError}) for a record that must be refused. The
 * caller also applies {@linkcode checkOwnCounter}.
 */
export function fromWireRecord(
  wire: WireFileRecord,
  ctx: FromWireContext,
): FileRecord | undefined {
  const path = wire.path;
  const problem = wirePathProblem(path, "posix");
  if (problem !== null) {
    throw new WireRecordError(
      String(path),
      `Refusing path ${JSON.stringify(path)}: ${problem}`,
    );
  }
  const rules = ctx.rules ?? LOCAL_NAMING_RULES;
  const local = rules === "posix" ? null : wirePathProblem(path, rules);
  if (local !== null) {
    throw new NameNotAllowedError(
      path,
      `Not syncing ${JSON.stringify(path)} here: ${local}`,
    );
  }
  if (isInStateDir(path) || ctx.ignore.ignores(path, wire.kind === "dir")) {
    log.debug("Dropping record of ignored path {path}", { path });
    return undefined;
  }
  for (const entry of wire.version) {
    if (entry.counter > MAX_COUNTER_BIG || entry.counter < 1n) {
      throw new WireRecordError(
        path,
        `Refusing "${path}": version counter ${entry.counter} of replica ${entry.replica} is out of range (1..${MAX_COUNTER}, the bound every device applies)`,
      );
    }
  }
  if (!wire.deleted) {
    const twin = ctx.caseTwin?.(path);
    if (twin !== undefined) throw new CaseCollisionError(path, twin);
  }
  const version = versionOf(
    wire.version.map((e) => [e.replica, Number(e.counter)] as const),
  );
  const base = {
    path,
    kind: wire.kind,
    mtimeNs: wire.mtimeNs,
    version,
    deleted: wire.deleted,
    sequence: 0,
  };
  if (wire.deleted || wire.kind === "dir") {
    return { ...base, size: 0, exec: false, hash: EMPTY, chunks: [] };
  }
  if (wire.kind === "symlink") {
    const target = wire.symlinkTarget ?? "";
    return {
      ...base,
      size: utf8Length(target),
      exec: false,
      hash: wire.hash.slice(),
      chunks: [],
      symlinkTarget: target,
    };
  }
  // One buffer for the whole list (see `chunk_list.ts`), decoded when a
  // pull reads it: an object and a hash view per chunk cost 120 MB for a
  // record at the 448K-chunk cap.
  const bytes = packChunkBytes(wire.chunks.length, (i) => wire.chunks[i]!);
  const offset = chunkBytesCovered(bytes);
  if (offset !== wire.size) {
    throw new WireRecordError(
      path,
      `Refusing "${path}": chunks cover ${offset} bytes, size is ${wire.size}`,
    );
  }
  if (!sameBytes(fileHashOfList(bytes), wire.hash)) {
    throw new WireRecordError(
      path,
      `Refusing "${path}": its hash is not the hash of its chunk list`,
    );
  }
  return withLazyChunks({
    ...base,
    size: wire.size,
    exec: wire.exec,
    hash: wire.hash.slice(),
  }, bytes);
}

/**
 * Whether the disk under `folder` ignores case: creates a lower-case probe
 * file in `<folder>/.dsync/` and looks it up in upper case.
 */
export function detectCaseInsensitive(folder: string): boolean {
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const dir = toOsPath(folder, STATE_DIR);
  Deno.mkdirSync(dir, { recursive: true });
  const lower = toOsPath(dir, `case-probe-${tag}.tmp`);
  const upper = toOsPath(dir, `CASE-PROBE-${tag.toUpperCase()}.TMP`);
  Deno.writeFileSync(lower, EMPTY, { createNew: true });
  try {
    Deno.lstatSync(upper);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  } finally {
    try {
      Deno.removeSync(lower);
    } catch {
      // A leftover probe in .dsync/ is harmless.
    }
  }
}
