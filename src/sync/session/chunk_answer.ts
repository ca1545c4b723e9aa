/**
 * One chunk request answered: where the path may be read (inside the folder
 * only, `lstat` at every step, never through a symlink, never `.dsync/` or
 * an ignored path), whether it names a whole chunk of the current index
 * (or of a file still being received, for swarming), and the bytes read,
 * checked against the stat or the hash, LZ4-compressed when that pays. The
 * `ChunkResponder` queues requests and paces the answers.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  blake3,
  isInStateDir,
  sameBytes,
  STATE_DIR,
  toOsPath,
} from "../../index/mod.ts";
import {
  type BufferPool,
  type ChunkRequest,
  type ChunkResponse,
  wirePathProblem,
} from "../../protocol/mod.ts";
import {
  compressIfWorthwhile,
  type CompressionPolicy,
  type EncodedChunk,
} from "../../compress/mod.ts";
import type { IndexedChunks, IndexedStamp } from "./indexed_chunks.ts";
import type { OpenFiles } from "./open_files.ts";

const log = getLogger(["dsync", "sync", "responder"]);

/** What a responder needs to know of the ignore rules. */
export interface IgnoreCheck {
  ignores(relPath: string, isDir: boolean): boolean;
}

/** The answer to one request, and whether the file changed under the peer. */
export interface ChunkAnswer {
  readonly response: ChunkResponse;
  /** True when the path holds other bytes than the peer thinks: rescan it. */
  readonly changed: boolean;
  /** Why the request was refused (status `refused` only), for the log. */
  readonly refusal?: string;
  /** Served from the `.part` of a file still being received. */
  readonly fromPartial?: boolean;
  /**
   * The buffer the chunk was read into, from the `BufferPool` passed in:
   * give it back once the response is written (not before).
   */
  readonly readBuffer?: Uint8Array;
}

/** Chunks of files this device is still receiving (see `../swarm/mod.ts`). */
export interface PartialChunks {
  /** The verified bytes of that whole chunk of the version being pulled, if held. */
  read(
    path: string,
    offset: number,
    length: number,
    hash: Uint8Array,
  ): Uint8Array | undefined;
}

/** `Deno.lstatSync(os)`, or undefined when nothing is there. */
function lstatOrUndefined(os: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(os);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * The OS path and stat of canonical `relPath` under `folder`, walking one
 * component at a time without following links; a component stored NFC may
 * be NFD on disk. Undefined when missing or when a parent is not a real
 * directory. Synchronous: see {@linkcode answerChunkRequest}.
 */
export function locateEntry(
  folder: string,
  relPath: string,
): { os: string; info: Deno.FileInfo } | undefined {
  let dir = folder;
  const parts = relPath.split("/");
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    let os = toOsPath(dir, name);
    let info = lstatOrUndefined(os);
    if (info === undefined && name.normalize("NFD") !== name) {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.name !== name && entry.name.normalize("NFC") === name) {
          os = toOsPath(dir, entry.name);
          info = lstatOrUndefined(os);
          break;
        }
      }
    }
    if (info === undefined) return undefined;
    if (i === parts.length - 1) return { os, info };
    if (!info.isDirectory || info.isSymlink) return undefined;
    dir = os;
  }
  return undefined;
}

/** Why a peer may not read `path`, or undefined when it may. */
function refusalOf(ignore: IgnoreCheck, path: string): string | undefined {
  const problem = wirePathProblem(path, "posix");
  if (problem !== null) return `invalid path (${problem})`;
  if (isInStateDir(path)) {
    return `inside ${STATE_DIR}/`;
  }
  if (ignore.ignores(path, false)) return "ignored here";
  return undefined;
}

function statusOnly(
  id: number,
  status: ChunkResponse["status"],
): ChunkResponse {
  return {
    type: "chunk_response",
    id,
    status,
    compression: "none",
    data: new Uint8Array(0),
    rawLength: 0,
  };
}

function readFully(
  file: Deno.FsFile,
  offset: number,
  length: number,
  buffers: BufferPool | undefined,
): Uint8Array | undefined {
  file.seekSync(offset, Deno.SeekMode.Start);
  const buf = buffers?.take(length) ?? new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null) {
      buffers?.give(buf);
      return undefined;
    }
    got += n;
  }
  return buf;
}

/** True when `info` shows the size and mtime the index record holds. */
function matchesStamp(info: Deno.FileInfo, stamp: IndexedStamp): boolean {
  return info.isFile && info.size === stamp.size &&
    (info.mtime?.getTime() ?? 0) === stamp.mtimeMs;
}

/**
 * The requested bytes, if they are still the ones asked for: when the
 * file's `stat` shows the size and mtime of its index record (`stamp`),
 * as read (the receiver verifies every chunk against its hash anyway, and
 * hashing here cost the sender a BLAKE3 pass over everything it served);
 * else only when they hash as asked. Through a kept handle when there is
 * one, else after the safe walk (then keeping the handle). `not_found` and
 * `changed` as in {@linkcode answerChunkRequest}.
 */
function readChecked(
  folder: string,
  request: ChunkRequest,
  files: OpenFiles | undefined,
  stamp: IndexedStamp | undefined,
  buffers: BufferPool | undefined,
): Uint8Array | "not_found" | "changed" {
  const { path, offset, length, hash } = request;
  const unchanged = (file: Deno.FsFile, info?: Deno.FileInfo) =>
    stamp !== undefined && matchesStamp(info ?? file.statSync(), stamp);
  const kept = files?.get(path);
  if (kept !== undefined) {
    const trusted = unchanged(kept);
    const data = readFully(kept, offset, length, buffers);
    if (
      data !== undefined && (trusted || sameBytes(blake3(data), hash))
    ) return data;
    if (data !== undefined) buffers?.give(data);
    // Renamed, replaced or rewritten since it was opened: look again.
    files!.evict(path);
  }
  const found = locateEntry(folder, path);
  if (found === undefined || !found.info.isFile) return "not_found";
  if (found.info.size < offset + length) return "changed";
  const file = Deno.openSync(found.os, { read: true });
  let data: Uint8Array | undefined;
  let trusted = false;
  try {
    // The open handle's stat: the path may name another file by now.
    trusted = unchanged(file);
    data = readFully(file, offset, length, buffers);
  } finally {
    if (files === undefined) file.close();
    else files.put(path, file);
  }
  if (data === undefined) return "changed";
  if (!trusted && !sameBytes(blake3(data), hash)) {
    buffers?.give(data);
    return "changed";
  }
  return data;
}

/**
 * Reads and checks the chunk `request` asks for; never throws. The file
 * system calls are synchronous: a chunk is at most 256 KiB, mostly in the
 * page cache, and half a dozen asynchronous calls per chunk each wait for
 * a turn of a busy event loop, which measured several times slower.
 * With `files`, the handle is kept for the next request of the same path;
 * with `policy`, chunks of a file that did not compress are sent untried;
 * with `compress` false, none is tried; with `indexed`, only whole
 * indexed chunks are read (the node always passes it); with `buffers`,
 * chunks are read into its buffers (see `ChunkAnswer.readBuffer`).
 */
export function answerChunkRequest(
  folder: string,
  ignore: IgnoreCheck,
  request: ChunkRequest,
  files?: OpenFiles,
  policy?: CompressionPolicy,
  compress = true,
  indexed?: IndexedChunks,
  partials?: PartialChunks,
  buffers?: BufferPool,
): ChunkAnswer {
  const { id, path, offset, length } = request;
  const refusal = refusalOf(ignore, path);
  if (refusal !== undefined) {
    return { response: statusOnly(id, "refused"), changed: false, refusal };
  }
  if (
    indexed !== undefined &&
    !indexed.holds(path, offset, length, request.hash)
  ) {
    // Not a chunk of our index (an outdated record, or a guess): nothing
    // is read, and nothing needs rescanning; unless it is a chunk of the
    // version we are receiving, already in its `.part`.
    const held = partials?.read(path, offset, length, request.hash);
    if (held === undefined) {
      return { response: statusOnly(id, "changed"), changed: false };
    }
    return {
      response: okResponse(request, held, policy, compress),
      changed: false,
      fromPartial: true,
    };
  }
  try {
    const data = readChecked(
      folder,
      request,
      files,
      indexed?.stampOf?.(path),
      buffers,
    );
    if (data === "not_found") {
      return { response: statusOnly(id, "not_found"), changed: false };
    }
    if (data === "changed") {
      return { response: statusOnly(id, "changed"), changed: true };
    }
    return {
      response: okResponse(request, data, policy, compress),
      changed: false,
      ...(buffers === undefined ? {} : { readBuffer: data }),
    };
  } catch (err) {
    log.debug("Cannot serve {path}@{offset}: {error}", {
      path,
      offset,
      error: String(err),
    });
    return { response: statusOnly(id, "not_found"), changed: false };
  }
}

/** The answer carrying `data`, LZ4-compressed when that pays. */
function okResponse(
  request: ChunkRequest,
  data: Uint8Array,
  policy: CompressionPolicy | undefined,
  compress: boolean,
): ChunkResponse {
  const { id, path, length } = request;
  let encoded: EncodedChunk = { compression: "none", bytes: data };
  if (compress && (policy === undefined || policy.shouldTry(path))) {
    encoded = compressIfWorthwhile(data);
    policy?.record(path, encoded.compression !== "none");
  }
  return {
    type: "chunk_response",
    id,
    status: "ok",
    compression: encoded.compression,
    data: encoded.bytes,
    rawLength: length,
  };
}
