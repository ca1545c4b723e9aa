/**
 * Record diffs on one session (issue #21, "Deltas"): a big file's new
 * record goes to a peer that holds an earlier version of it as an
 * `IndexDiff`, the chunk list as edits of the list of that version (1 MiB
 * changed in 256 MiB: ~1 KB of edits where the full list was ~147 KB).
 *
 * Sending: the base is the peer's own record of the path as it announced
 * it (it holds that version), only for a peer whose hello set `recordDiffs`
 * and a base of at least {@linkcode DIFF_MIN_CHUNKS} chunks, and only when
 * the diff is under half the full list. Receiving: the base is our record
 * of the path or the sender's earlier record of it, whichever has the base
 * hash; the rebuilt list must match the diff's list hash, file hash and
 * size (`rebuildChunkList`). Without a base that passes, the receiver asks
 * for the record in full (`RecordRequest`), which the sender answers only
 * for a path it sent a diff of and not yet resent.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  ChunkDiffError,
  chunkListHash,
  diffChunkLists,
  type FileRecord,
  rebuildChunkList,
  sameBytes,
} from "../../index/mod.ts";
import type {
  Hello,
  IndexBatch,
  IndexDiff,
  Message,
  WireFileRecord,
} from "../../protocol/mod.ts";
import { SessionProtocolError } from "./session_errors.ts";
import type { PeerSessionOptions } from "./session_options.ts";
import { toWireRecord, wireRecordProblem } from "./wire_record.ts";

const log = getLogger(["dsync", "sync", "session"]);

/** Lists shorter than this (4 MiB at the average chunk) always go whole. */
export const DIFF_MIN_CHUNKS = 64;

/**
 * The diff of `wire` (our record) against `base` (the peer's record of the
 * same path), or undefined when it would not pay or does not apply.
 */
export function diffOf(
  wire: WireFileRecord,
  base: FileRecord | undefined,
  last: boolean,
): IndexDiff | undefined {
  if (
    base === undefined || wire.kind !== "file" || wire.deleted ||
    base.kind !== "file" || base.deleted ||
    base.chunks.length < DIFF_MIN_CHUNKS || sameBytes(base.hash, wire.hash)
  ) return undefined;
  const { edits, added } = diffChunkLists(base.chunks, wire.chunks);
  if (edits.length === 0) return undefined;
  const diffBytes = 110 + edits.length * 6 + added.length * 36;
  if (diffBytes * 2 > wire.chunks.length * 36) return undefined;
  return {
    type: "index_diff",
    last,
    path: wire.path,
    exec: wire.exec,
    size: wire.size,
    mtimeNs: wire.mtimeNs,
    sequence: wire.sequence,
    version: wire.version,
    hash: wire.hash,
    baseHash: base.hash,
    listHash: chunkListHash(wire.chunks),
    chunkTotal: wire.chunks.length,
    edits,
    added,
  };
}

/**
 * The full record `diff` stands for, rebuilt from the first of `bases`
 * that is a live file with the base hash and gives the claimed list; or
 * undefined when none does.
 */
export function recordOfDiff(
  diff: IndexDiff,
  bases: readonly (FileRecord | undefined)[],
): WireFileRecord | undefined {
  for (const base of bases) {
    if (
      base === undefined || base.kind !== "file" || base.deleted ||
      !sameBytes(base.hash, diff.baseHash)
    ) continue;
    try {
      const chunks = rebuildChunkList(base.chunks, diff, {
        total: diff.chunkTotal,
        listHash: diff.listHash,
        hash: diff.hash,
        size: diff.size,
      });
      return {
        path: diff.path,
        kind: "file",
        size: diff.size,
        mtimeNs: diff.mtimeNs,
        exec: diff.exec,
        hash: diff.hash,
        chunks,
        version: diff.version,
        deleted: false,
        sequence: diff.sequence,
      };
    } catch (err) {
      if (!(err instanceof ChunkDiffError)) throw err;
    }
  }
  return undefined;
}

/** One session's record diffs, both ways (see the module comment). */
export class RecordDiffs {
  readonly #o: Pick<PeerSessionOptions, "local" | "remote" | "withhold">;
  /** Paths sent as diffs and not yet asked for in full, with how many times. */
  readonly #open = new Map<string, number>();

  constructor(o: Pick<PeerSessionOptions, "local" | "remote" | "withhold">) {
    this.#o = o;
  }

  /** `wire` as a diff for the peer of `hello`, when that pays. */
  diffFor(
    hello: Hello | undefined,
    wire: WireFileRecord,
    last: boolean,
  ): IndexDiff | undefined {
    const remote = this.#o.remote;
    if (hello?.recordDiffs !== true || remote.get === undefined) return;
    const diff = diffOf(wire, remote.get(hello.replicaId, wire.path), last);
    if (diff !== undefined) {
      this.#open.set(wire.path, (this.#open.get(wire.path) ?? 0) + 1);
    }
    return diff;
  }

  /**
   * `diff` from `replica` as a batch of its rebuilt record, or of none
   * (then `ask` is the request for the record in full, to send).
   */
  take(
    replica: bigint,
    diff: IndexDiff,
    from: { readonly size: number; readonly peer: string },
  ): { batch: IndexBatch; ask?: Message } {
    const { path, last } = diff;
    const bases = [
      this.#o.local.get?.(path),
      this.#o.remote.get?.(replica, path),
    ];
    const wire = recordOfDiff(diff, bases);
    if (wire !== undefined) {
      log.debug(
        "Rebuilt the record of {path} from a diff of {size} bytes from {peer}: {added} of {total} chunks sent",
        {
          path,
          size: from.size,
          peer: from.peer,
          added: diff.added.length,
          total: diff.chunkTotal,
        },
      );
      return { batch: { type: "index_batch", records: [wire], last } };
    }
    log.debug(
      "Asking {peer} for the record of {path} in full: its diff applies to no version held here",
      { path, peer: from.peer },
    );
    return {
      batch: { type: "index_batch", records: [], last },
      ask: { type: "record_request", path },
    };
  }

  /**
   * The answer to the peer's `RecordRequest` for `path`: our current record
   * of it, whole (none when it may not be sent). Allowed once per diff of
   * `path` sent; any other request throws {@linkcode SessionProtocolError}.
   */
  answer(path: string, last: boolean): IndexBatch | undefined {
    const open = this.#open.get(path);
    if (open === undefined) {
      throw new SessionProtocolError(
        `RecordRequest for ${
          JSON.stringify(path)
        }, which was not sent as a diff`,
      );
    }
    if (open > 1) this.#open.set(path, open - 1);
    else this.#open.delete(path);
    const record = this.#o.local.get?.(path);
    if (
      record === undefined || this.#o.withhold?.(record) ||
      wireRecordProblem(record) !== undefined
    ) return undefined;
    return { type: "index_batch", records: [toWireRecord(record)], last };
  }
}
