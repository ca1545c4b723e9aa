/**
 * The sync engine and the three rooms it wires along the data path:
 * `session/` (a connected peer: index exchange, chunk requests both ways),
 * `pull/` (what a peer's record means here and fetching its content) and
 * `apply/` (putting it on disk and in the index). Outside `sync/`, only the
 * engine and the `.part` cleanup the node runs at start are needed.
 * @module
 */

export { SyncEngine, type SyncEngineOptions } from "./engine.ts";
export type { PeerChannel, PeerPool, PeerPoolEvents } from "./peer_pool.ts";
export type { PeerStatus, RunTotals, SyncStatus } from "./status.ts";
export { LeftoverParts, removeStrayPart } from "./pull/mod.ts";
export type { FolderMode } from "./pull/mod.ts";
export type { RevertOutcome } from "./mode_actions.ts";
// The node probes the disk once, so ignore rules and the engine agree.
export { detectCaseInsensitive } from "./session/mod.ts";
