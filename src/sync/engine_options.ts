/**
 * What a `SyncEngine` is given: the folder, its index and scanner, its
 * name and limits, and the hooks and settings of the node around it.
 * @module
 */

import type { IgnoreRules, IndexStore, Scanner } from "../index/mod.ts";
import type { NamingRules } from "../protocol/mod.ts";
import type { FolderMode, LeftoverParts } from "./pull/mod.ts";
import type { VersionKeeper } from "../versions/mod.ts";

/** Options of a `SyncEngine`. */
export interface SyncEngineOptions {
  /** Absolute path of the synced folder. */
  readonly folder: string;
  readonly store: IndexStore;
  readonly scanner: Scanner;
  readonly ignore: IgnoreRules;
  /** Big files (or groups of small ones) pulled at once. */
  readonly maxConcurrentTransfers: number;
  /** Our display name, sent to peers. */
  readonly name: string;
  /** Clock in epoch ms. */
  readonly now?: () => number;
  /** Overrides the probe of the disk's case sensitivity (tests). */
  readonly caseInsensitive?: boolean;
  /** `.part` files to resume (gathered at start); pulls park theirs here. */
  readonly leftovers?: LeftoverParts;
  /** A peer said hello (its name is known from now on). */
  readonly onPeerHello?: (peerId: Uint8Array, name: string) => void;
  /** A peer sent the group's new secret after removing `removed`. */
  readonly onGroupRekey?: (
    peerId: Uint8Array,
    secret: Uint8Array,
    removed: Uint8Array,
  ) => void;
  /** Which names this side holds, said to peers (default: this OS's rules). */
  readonly namingRules?: NamingRules;
  /**
   * A peer's change was applied to `path` here (recent changes, logs);
   * `device` names the peer where it was known then.
   */
  readonly onApplied?: (path: string, device?: string) => void;
  /** Where files a peer's change replaces or deletes are kept (versioning on). */
  readonly versions?: VersionKeeper;
  /** The disk is full while writing `path`: free space before the retry. */
  readonly onDiskFull?: (path: string, bytes: number) => Promise<void>;
  /** Which way changes flow (default send-receive). */
  readonly mode?: FolderMode;
  /**
   * BLAKE3 of each piece, end to end, on another thread that the pieces'
   * buffers are handed to and come back from as `pieces` (the node's `HasherPool.hashOwnedBytes`): chunks
   * from peers are checked there, not on the thread that decrypts them.
   */
  readonly hashOffThread?: (
    pieces: readonly Uint8Array[],
  ) => Promise<{ digest: Uint8Array; pieces: readonly Uint8Array[] }>;
}
