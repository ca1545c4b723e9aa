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
  /** Interval of the full rescan that catches what the watcher missed. */
  rescanIntervalMs?: number;
}

/** One hour: what the OS drops, a periodic rescan finds. */
export const DEFAULT_RESCAN_INTERVAL_MS = 60 * 60 * 1000;
