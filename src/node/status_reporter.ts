import { getLogger } from "@logtape/logtape";
import type { SyncStatus } from "../sync/mod.ts";
import { renderSummary, type StatusView, type TtyStatus } from "../ui/mod.ts";
import { syncVerdict } from "./status_api.ts";

const log = getLogger(["dsync", "node"]);

/**
 * The engine's snapshot as the status display sees it (connected peers
 * only). "In sync" follows the status API's rule (`syncVerdict`), so the
 * log never says it while a peer still lacks something of ours.
 */
export function toStatusView(status: SyncStatus, notSynced = 0): StatusView {
  return {
    peers: status.peers.filter((peer) => peer.connected).map((peer) => ({
      name: peer.name ?? "(unnamed)",
      fingerprint: peer.fingerprint,
      synced: peer.initialSyncDone && peer.confirmed,
    })),
    transfers: status.transfers.map((t) => ({
      path: t.path,
      doneBytes: t.bytesDone,
      totalBytes: t.bytesTotal,
      startedAt: t.startedAt,
    })),
    files: status.totals.files,
    bytes: status.totals.bytes,
    retrying: status.retrying,
    indexing: status.indexing,
    inSync: syncVerdict(status).inSync,
    ...(notSynced === 0 ? {} : { notSynced }),
    ...(status.paused ? { paused: true } : {}),
  };
}

/**
 * Whether a new "in sync" line is due: when the node has just become in sync
 * with at least one peer, or the set of peers it is in sync with changed.
 */
export function inSyncLineDue(
  previous: string | undefined,
  view: StatusView,
): string | undefined {
  if (!view.inSync || view.peers.length === 0) return undefined;
  const line = renderSummary(view);
  return line === previous ? undefined : line;
}

/**
 * Shows the engine's state: on a terminal, a status block redrawn a few
 * times a second; everywhere, one log line each time the folder comes in
 * sync ("in sync with 2 peers, 1,234 files, 5.6 GB").
 */
export class StatusReporter {
  readonly #status: () => SyncStatus;
  readonly #tty: TtyStatus | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #notSynced: (status: SyncStatus) => number;
  #lastLine: string | undefined;

  constructor(
    status: () => SyncStatus,
    options: {
      tty?: TtyStatus;
      intervalMs?: number;
      /** How many files cannot be synced (said in the "in sync" line). */
      notSynced?: (status: SyncStatus) => number;
    } = {},
  ) {
    this.#status = status;
    this.#notSynced = options.notSynced ?? (() => 0);
    this.#tty = options.tty;
    const interval = options.intervalMs ?? (this.#tty ? 250 : 1000);
    this.#timer = setInterval(() => this.#tick(), interval);
  }

  #tick(): void {
    const status = this.#status();
    const view = toStatusView(status, this.#notSynced(status));
    const line = inSyncLineDue(this.#lastLine, view);
    if (line !== undefined) {
      log.info(line[0]!.toUpperCase() + line.slice(1));
    }
    if (view.inSync || view.peers.length === 0) {
      this.#lastLine = line ?? this.#lastLine;
    }
    if (!view.inSync) this.#lastLine = undefined;
    this.#tty?.draw(view, Date.now());
  }

  /** Stops updating and removes the terminal block. */
  stop(): void {
    clearInterval(this.#timer);
    this.#tty?.clear();
  }
}
