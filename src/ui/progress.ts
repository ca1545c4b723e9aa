import {
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
} from "./format.ts";
import type { PeerView, StatusView, TransferView } from "./status_view.ts";

/** Transfers shorter than this are not worth a progress line. */
export const SHOW_TRANSFER_AFTER_MS = 1000;
/** At most this many transfer lines; the rest are counted. */
export const MAX_TRANSFER_LINES = 8;

/** Cuts `text` to `width` columns, keeping its end (where a file name is). */
export function fitLeft(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return chars.slice(-width).join("");
  return "…" + chars.slice(chars.length - width + 1).join("");
}

/** A text bar of `width` cells for `fraction` in [0, 1]. */
export function renderBar(fraction: number, width: number): string {
  const clamped = Math.min(
    1,
    Math.max(0, Number.isFinite(fraction) ? fraction : 0),
  );
  const full = Math.round(clamped * width);
  return "█".repeat(full) + "░".repeat(width - full);
}

/** One line for a transfer: name, bar, bytes, rate and ETA. */
export function renderTransfer(
  t: TransferView,
  now: number,
  width: number,
): string {
  const elapsed = Math.max(1, now - t.startedAt);
  const fraction = t.totalBytes > 0 ? t.doneBytes / t.totalBytes : 1;
  const rate = (t.doneBytes * 1000) / elapsed;
  const eta = rate > 0
    ? ((t.totalBytes - t.doneBytes) / rate) * 1000
    : Infinity;
  const tail = ` ${renderBar(fraction, 12)} ${
    String(Math.floor(fraction * 100)).padStart(3)
  }% ${formatBytes(t.doneBytes)}/${formatBytes(t.totalBytes)} ${
    formatRate(rate)
  } ETA ${Number.isFinite(eta) ? formatDuration(eta) : "?"}`;
  const nameWidth = Math.max(8, width - tail.length - 2);
  return `↓ ${fitLeft(t.path, nameWidth).padEnd(nameWidth)}${tail}`;
}

/** One line for a peer. */
export function renderPeer(peer: PeerView): string {
  return `● ${peer.name} (${peer.fingerprint}) ${
    peer.synced ? "connected" : "exchanging index"
  }`;
}

/** The one-line summary shown when everything is in sync. */
export function renderSummary(view: StatusView): string {
  const peers = view.peers.length;
  const files = `${formatCount(view.files)} file${view.files === 1 ? "" : "s"}`;
  if (peers === 0) {
    return `waiting for peers; ${files}, ${formatBytes(view.bytes)}`;
  }
  const notSynced = view.notSynced ?? 0;
  const left = notSynced === 0
    ? ""
    : `; ${formatCount(notSynced)} file${
      notSynced === 1 ? "" : "s"
    } cannot be synced, see \`dsync status\``;
  return `in sync with ${formatCount(peers)} peer${
    peers === 1 ? "" : "s"
  }, ${files}, ${formatBytes(view.bytes)}${left}`;
}

/** Every line of the status block, for a terminal `width` columns wide. */
export function renderStatus(
  view: StatusView,
  now: number,
  width: number,
): string[] {
  const lines = view.peers.map((peer) => fitLeft(renderPeer(peer), width));
  const shown = view.transfers.filter((t) =>
    now - t.startedAt >= SHOW_TRANSFER_AFTER_MS
  );
  for (const t of shown.slice(0, MAX_TRANSFER_LINES)) {
    lines.push(renderTransfer(t, now, width));
  }
  if (shown.length > MAX_TRANSFER_LINES) {
    lines.push(
      `  … and ${
        formatCount(shown.length - MAX_TRANSFER_LINES)
      } more transfers`,
    );
  }
  if (view.paused) {
    lines.push(
      fitLeft(
        `paused: nothing is sent or received (dsync resume -d DIR); ${
          formatCount(view.files)
        } files, ${formatBytes(view.bytes)}`,
        width,
      ),
    );
  } else if (view.indexing) {
    lines.push(
      fitLeft(
        `indexing the folder: ${formatCount(view.files)} files so far, ${
          formatBytes(view.bytes)
        }`,
        width,
      ),
    );
  } else if (view.inSync || view.peers.length === 0) {
    lines.push(fitLeft(renderSummary(view), width));
  } else if (view.transfers.length > 0) {
    lines.push(
      `syncing: ${formatCount(view.transfers.length)} files in flight`,
    );
  } else if (view.retrying > 0) {
    lines.push(
      fitLeft(
        `not in sync: ${
          formatCount(view.retrying)
        } files cannot be applied yet, retrying (see the log)`,
        width,
      ),
    );
  }
  return lines;
}
