import type { GroupSecret } from "../group/mod.ts";
import type { FolderMode } from "../sync/mod.ts";

/** A peer address given by the user. */
export interface StaticPeer {
  hostname: string;
  port: number;
}

/** What a dsync node is started with (built by the CLI). */
export interface NodeConfig {
  /** Absolute path of the synced folder. */
  folder: string;
  port: number;
  name: string;
  peers: StaticPeer[];
  excludes: string[];
  discovery: boolean;
  verbose: boolean;
  maxConcurrentTransfers: number;
  /** `--open`: the open LAN pseudo-group instead of the folder's group. */
  open?: boolean;
  /** The group secret just received with `--join` (stored at start). */
  joined?: GroupSecret | undefined;
  /** Where the status page listens (default `DEFAULT_CONTROL_ADDRESS`). */
  gui?: StaticPeer | undefined;
  /** Naming rules of the folder's file system (default: this OS's). */
  namingRules?: "posix" | "windows" | undefined;
  /** Days versions are kept; 0 turns versioning off (default 30). */
  versionsKeepDays?: number;
  /** Most megabytes of versions (default: a tenth of the file system). */
  versionsMaxMb?: number;
  /** Which way changes flow (default send-receive). */
  mode?: FolderMode;
  /**
   * The directory that holds `.dsync/` instead of the folder (a folder on
   * a read-only file system); absolute.
   */
  stateDir?: string;
  /** Interval of the full rescan that catches what the watcher missed. */
  rescanIntervalMs?: number;
}

/** One hour: what the OS drops, a periodic rescan finds. */
export const DEFAULT_RESCAN_INTERVAL_MS = 60 * 60 * 1000;

/** The directory whose `.dsync/` holds the folder's state. */
export function stateRootOf(
  config: { folder: string; stateDir?: string },
): string {
  return config.stateDir ?? config.folder;
}
