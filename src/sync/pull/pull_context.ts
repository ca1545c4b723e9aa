/**
 * The puller's options, and what its executors (one big file, a group of
 * small files) use of it: a small interface instead of reaching into the
 * puller, so each executor reads as one file's trip from peers to disk.
 * @module
 */

import type { FileRecord, IndexStore, StoredStat } from "../../index/mod.ts";
import type {
  ApplyGate,
  Decision,
  EchoFilter,
  LocalOpsContext,
} from "../apply/mod.ts";
import type { ChunkFetcher, PeerDirectory } from "./chunk_fetcher.ts";
import type { LocalChunkIndex } from "./chunk_source.ts";
import type { PullFailures } from "./failure_policy.ts";
import type { LeftoverParts } from "./part_cleanup.ts";
import type { TransferBoard } from "./transfers.ts";
import type { VersionKeeper } from "../../versions/mod.ts";
import type { FolderMode } from "./folder_mode.ts";
import type { PartialFiles } from "../swarm/mod.ts";

export { PullerClosedError, PullerPausedError } from "./pull_errors.ts";

/** Where a file records from the peers' records. */
export interface RemoteRecords {
  recordsFor(path: string): { replica: bigint; record: FileRecord }[];
  /** `recordsFor` many paths at once, by path (paths without records absent). */
  recordsForMany?(
    paths: readonly string[],
  ): Map<string, { replica: bigint; record: FileRecord }[]>;
  pendingPaths(after: string, limit: number): string[];
}

/** Options of the `Puller`. */
export interface PullerOptions {
  readonly folder: string;
  readonly store: IndexStore;
  readonly remote: RemoteRecords;
  readonly chunkIndex: LocalChunkIndex;
  readonly gate: ApplyGate;
  readonly echo: EchoFilter;
  /** Files (big) or groups of small files in flight at once. */
  readonly maxConcurrentTransfers: number;
  /** Connected peers, asked who can serve a file's chunks. */
  readonly peers: PeerDirectory;
  /** The folder's side: rescans, and announces what the puller stored. */
  readonly host: PullerHost;
  /** On a case-insensitive disk: the live local path `path` would collide with. */
  readonly caseTwin?: (path: string) => string | undefined;
  /** Clock in epoch ms (conflict copy names). */
  readonly now?: () => number;
  /** Files up to this size are pulled in groups (default 256 KiB). */
  readonly smallFileBytes?: number;
  /** Most files in a group (default 128). */
  readonly groupFiles?: number;
  /** Most bytes in a group (default 8 MiB). */
  readonly groupBytes?: number;
  /** Bytes of one big file in flight at once (default 1 MiB). */
  readonly fileWindowBytes?: number;
  /**
   * `.part` files kept to resume: a big file's pull starts from its
   * leftover, and a pull that fails for want of a peer (or because the
   * puller stops) leaves its `.part` here instead of removing it.
   */
  readonly leftovers?: LeftoverParts;
  /**
   * Start held: paths are queued but nothing is planned or fetched until
   * `Puller.release` (the node's first full scan has to finish, or files
   * already here but not yet indexed would be fetched again).
   */
  readonly held?: boolean;
  /**
   * Where a file that a peer's change replaces or deletes is kept first;
   * none when versioning is off.
   */
  readonly versions?: VersionKeeper;
  /** The name of the device whose change `record` is (for messages). */
  readonly sourceOf?: (record: FileRecord) => string | undefined;
  /**
   * The disk is full while writing `path` (`bytes` long): free space (old
   * versions) before the retry.
   */
  readonly onDiskFull?: (path: string, bytes: number) => Promise<void>;
  /** Which way changes flow (default send-receive). */
  readonly mode?: FolderMode;
  /** Live files in the local index (for the mass-delete guard). */
  readonly liveFiles?: () => number;
  /**
   * Of deletes (path → content hash in hex), those whose content a live
   * local file at another path holds (for the mass-delete guard: a renamed
   * folder is not a loss).
   */
  readonly keptElsewhere?: (
    deletes: ReadonlyMap<string, string>,
  ) => Set<string>;
  /** The name of the peer whose replica is `replica`, if connected. */
  readonly nameOf?: (replica: bigint) => string | undefined;
  /**
   * Big files being received, and their chunks written so far: announced
   * to peers and served to them from the `.part` (swarming).
   */
  readonly partials?: PartialFiles;
}

/**
 * What a puller asks of the folder it works for, as calls: the engine
 * (`SyncEngine`) scans paths under its gate and announces new local
 * records to every peer.
 */
export interface PullerHost {
  /** Rescans paths (under the gate) and pushes what changed. */
  rescan(paths: string[]): Promise<void>;
  /** New local records were stored: push them to peers. */
  stored(): void;
  /** Nothing is left to do. */
  idle(): void;
}

/** What the file and group executors use of the puller. */
export interface PullContext {
  readonly options: PullerOptions;
  readonly ops: LocalOpsContext;
  readonly fetcher: ChunkFetcher;
  readonly failures: PullFailures;
  readonly transfers: TransferBoard;
  /** The signal of work starting now: aborted when the puller stops or pauses. */
  signal(): AbortSignal;
  /** Clock in epoch ms. */
  readonly now: () => number;
  /** True once the puller is stopping. */
  closed(): boolean;
  /** Bumped whenever peers may serve more than before. */
  sourceEpoch(): number;
  /**
   * `d` planned again now: a pull of the same content, or undefined
   * (requeued if other work). `stored`, when given, is what the index
   * holds at `d.path` now (read for a whole group at once).
   */
  recheck(
    d: Decision,
    stored?: { readonly stat: StoredStat | undefined },
  ): Decision | undefined;
  /** The name the losing local copy of `d.path` is kept under. */
  copyName(d: Decision): string;
  /** This replica's tag, for a local write found while a file was replaced. */
  localTag(): string;
  /** Queues again the paths of `ds` that other peers' records also want work on. */
  requeueMore(ds: readonly Decision[]): void;
}
