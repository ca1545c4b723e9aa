import type { GroupSecret } from "../group/mod.ts";

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
  /** Interval of the full rescan that catches what the watcher missed. */
  rescanIntervalMs?: number;
}

/** One hour: what the OS drops, a periodic rescan finds. */
export const DEFAULT_RESCAN_INTERVAL_MS = 60 * 60 * 1000;
