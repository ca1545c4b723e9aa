/**
 * Record diffs on one session (issue #21, "Deltas"): a big file's new
 * record goes to a peer that holds an earlier version of it as an
 * `IndexDiff`, the chunk list as edits of the list of that version (1 MiB
 * changed in 256 MiB: ~1 KB of edits where the full list was ~147 KB).
 *
 * Sending: the base is the peer's own record of the path as it announced
 * it (it holds that version), else our version the new one replaced
 * (`IndexStore.previousList`) when the peer acked it; only for a peer whose
 * hello set `recordDiffs` and a base of at least {@linkcode DIFF_MIN_CHUNKS}
 * chunks, and only when the diff is under half the full list. Receiving: the base is our record
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
  type ListChunk,
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
import type { PeerSessionOptions, SessionHandle } from "./session_options.ts";
import { peerLabel } from "./peer_label.ts";
import { toWireRecord, wireRecordProblem } from "./wire_record.ts";

const log = getLogger(["dsync", "sync", "session"]);

/** Lists shorter than this (4 MiB at the average chunk) always go whole. */
export const DIFF_MIN_CHUNKS = 64;

/** A version's chunk list, as a diff's base. */
export interface ChunkListBase {
  /** The version's file hash. */
  readonly hash: Uint8Array;
  readonly chunks: readonly ListChunk[];
}

/**
 * The diff of `wire` (our record) against `base` (a version of the same
 * path the peer holds), or undefined when it would not pay or does not
 * apply.
 */
export function diffOf(
  wire: WireFileRecord,
  base: ChunkListBase | undefined,
  last: boolean,
): IndexDiff | undefined {
  if (
    base === undefined || wire.kind !== "file" || wire.deleted ||
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

/** What record diffs need of their session (a `PeerSession`). */
export type DiffSession = Pick<
  SessionHandle,
  "send" | "name" | "fingerprint" | "replica"
>;

/** One session's record diffs, both ways (see the module comment). */
export class RecordDiffs {
  readonly #o: Pick<PeerSessionOptions, "local" | "remote" | "withhold">;
  readonly #session: DiffSession;
  /** Paths sent as diffs and not yet asked for in full, with how many times. */
  readonly #open = new Map<string, number>();

  constructor(
    o: Pick<PeerSessionOptions, "local" | "remote" | "withhold">,
    session: DiffSession,
  ) {
    this.#o = o;
    this.#session = session;
  }

  /**
   * `wire` as a diff for the peer of `hello`, which acked our records up
   * to `peerAck`, when that pays (its `last` for the caller to set). The
   * base is the peer's own record of the path, else our version it replaced
   * if the peer acked that.
   */
  diffFor(
    hello: Hello | undefined,
    wire: WireFileRecord,
    peerAck: bigint,
  ): IndexDiff | undefined {
    if (
      hello?.recordDiffs !== true || wire.kind !== "file" || wire.deleted ||
      wire.chunks.length < DIFF_MIN_CHUNKS
    ) return;
    const theirs = this.#o.remote.get?.(hello.replicaId, wire.path);
    const ours = this.#o.local.previousList?.(wire.path);
    const bases = [
      theirs?.kind === "file" && !theirs.deleted ? theirs : undefined,
      ours !== undefined && BigInt(ours.sequence) <= peerAck ? ours : undefined,
    ];
    for (const base of bases) {
      const diff = diffOf(wire, base, false);
      if (diff === undefined) continue;
      this.#open.set(wire.path, (this.#open.get(wire.path) ?? 0) + 1);
      return diff;
    }
    return undefined;
  }

  /**
   * `diff` from the peer (`size` bytes on the wire) as a batch of its
   * rebuilt record, or of none: then the record is asked for in full, and
   * its sequence is acked with the record (or a later one).
   */
  take(diff: IndexDiff, size: number): IndexBatch {
    const { path, last } = diff;
    const replica = this.#session.replica;
    const bases = [
      this.#o.local.get?.(path),
      replica === undefined ? undefined : this.#o.remote.get?.(replica, path),
    ];
    const wire = recordOfDiff(diff, bases);
    if (wire !== undefined) {
      log.debug(
        "Rebuilt the record of {path} from a diff of {size} bytes from {peer}: {added} of {total} chunks sent",
        {
          path,
          size,
          peer: this.#peer(),
          added: diff.added.length,
          total: diff.chunkTotal,
        },
      );
      return { type: "index_batch", records: [wire], last };
    }
    log.debug(
      "Asking {peer} for the record of {path} in full: its diff applies to no version held here",
      { path, peer: this.#peer() },
    );
    this.#post({ type: "record_request", path });
    return { type: "index_batch", records: [], last };
  }

  #post(message: Message): void {
    this.#session.send(message).catch(() => {
      // The connection failed; the pool reports it.
    });
  }

  #peer(): string {
    return peerLabel(this.#session.name, this.#session.fingerprint);
  }

  /**
   * Answers the peer's `RecordRequest` for `path`: our current record of
   * it, whole (none when it may no longer be sent). Allowed once per diff of
   * `path` sent; any other request throws {@linkcode SessionProtocolError}.
   */
  answer(path: string, last: boolean): undefined {
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
    ) return;
    this.#post({
      type: "index_batch",
      records: [toWireRecord(record)],
      last,
    });
  }
}
