/**
 * The short human summary of `dsync status`: one line for the folder, one
 * per peer, one per transfer in progress. Pure, so it is tested without a
 * running node; `--json` prints the document itself instead.
 * @module
 */
import type { PeerReport, StatusDocument } from "../node/mod.ts";
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
  showInvisible,
} from "../ui/mod.ts";

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function contents(doc: StatusDocument): string {
  return `${plural(doc.folder.files, "file")}, ${
    formatBytes(doc.folder.bytes)
  }`;
}

function folderLine(doc: StatusDocument): string {
  const { path, state, waiting } = doc.folder;
  const connected = doc.peers.filter((p) => p.connected).length;
  switch (state) {
    case "scanning":
      return `${path}: scanning, ${contents(doc)} so far`;
    case "in sync":
      return `${path}: in sync with ${plural(connected, "peer")}, ${
        contents(doc)
      }${withheld(doc)}`;
    case "no peers":
      return `${path}: no peer connected, ${contents(doc)}`;
    case "paused":
      return `${path}: paused, nothing is sent or received (dsync resume -d ${path}); ${
        contents(doc)
      }`;
    case "syncing":
      return `${path}: syncing, ${contents(doc)}${
        waiting.length > 0 ? `; ${waiting.join("; ")}` : ""
      }`;
  }
}

/** "; 2 files cannot be synced" when some cannot, else nothing. */
function withheld(doc: StatusDocument): string {
  const n = doc.notSynced.files.length;
  return n === 0
    ? ""
    : `; ${plural(n, "file")} cannot be synced (listed below)`;
}

function peerState(peer: PeerReport): string {
  if (!peer.indexReceived) return "receiving its index";
  if (!peer.indexSent) return "sending our index";
  if (!peer.confirmed) return "pulling from us";
  return "in sync";
}

function peerLine(peer: PeerReport, now: number): string {
  const who = `${peer.name ?? "(no name)"} (${peer.fingerprint})${
    peer.address === null ? "" : ` at ${peer.address}`
  }`;
  const traffic = `received ${formatBytes(peer.bytesReceived)}, sent ${
    formatBytes(peer.bytesSent)
  }`;
  if (!peer.connected) {
    const ago = peer.disconnectedAt === null
      ? ""
      : ` ${formatDuration(Math.max(0, now - peer.disconnectedAt))} ago`;
    return `  ${who}: disconnected${ago}; ${traffic}`;
  }
  const holds = peer.holds === null
    ? ""
    : peer.holds.known === "confirming"
    ? `, confirming what it holds (at least ${peer.holds.percent}% so far)`
    : peer.holds.percent === 100
    ? ""
    : `, holds ${peer.holds.percent}%`;
  const rates = peer.rateIn > 0 || peer.rateOut > 0
    ? ` (now ${formatRate(peer.rateIn)} in, ${formatRate(peer.rateOut)} out)`
    : "";
  return `  ${who}: ${peerState(peer)}${holds}, connected for ${
    formatDuration(Math.max(0, now - peer.connectedSince))
  }; ${traffic}${rates}`;
}

function modeLines(doc: StatusDocument): string[] {
  const { mode, differing, localChanges, path } = doc.folder;
  if (mode === "send-only") {
    return [
      `  send-only: ${plural(differing, "file")} differ${
        differing === 1 ? "s" : ""
      } from the group${
        differing > 0
          ? ` (dsync override -d ${path} puts this folder's state on the peers)`
          : ""
      }`,
    ];
  }
  if (mode === "receive-only") {
    return [
      `  receive-only: ${
        plural(localChanges, "local change")
      } kept here, not sent${
        localChanges > 0
          ? ` (dsync revert -d ${path} replaces them with the group's)`
          : ""
      }`,
    ];
  }
  return [];
}

function nameLines(doc: StatusDocument): string[] {
  // Older nodes send no `names`.
  const names = doc.names ?? { twins: [], invisible: [], truncated: false };
  const lines: string[] = [];
  for (const twins of names.twins) {
    lines.push(
      `  look-alike names (differ only by case, normalisation or invisible characters): ${
        twins.join(", ")
      }`,
    );
  }
  for (const path of names.invisible) {
    lines.push(`  name with invisible or reordering characters: ${path}`);
  }
  if (names.truncated) lines.push("  (more look-alike names not listed)");
  return lines;
}

/**
 * The lines `dsync status` prints for `doc`, as of epoch ms `now`; names
 * from peers and disks are shown with invisible characters spelled out.
 */
export function renderStatusReport(doc: StatusDocument, now: number): string[] {
  return renderRaw(doc, now).map(showInvisible);
}

function renderRaw(doc: StatusDocument, now: number): string[] {
  const lines = [folderLine(doc), ...modeLines(doc)];
  for (const peer of doc.peers) lines.push(peerLine(peer, now));
  for (const t of doc.transfers) {
    lines.push(
      `  receiving ${t.path}: ${formatBytes(t.done)} of ${
        formatBytes(t.total)
      }`,
    );
  }
  for (const f of doc.notSynced.files) {
    const reason = f.peer === undefined
      ? f.reason
      : f.reason === "name not allowed on peer"
      ? `name not allowed on ${f.peer}`
      : `name not allowed here, from ${f.peer}`;
    lines.push(`  not synced: ${f.path} (${reason})`);
  }
  for (const c of doc.conflicts) {
    lines.push(`  conflict copy: ${c.path} (of ${c.original})`);
  }
  lines.push(...nameLines(doc));
  return lines;
}
