/**
 * Composition root: wires the index, the network and the user interface into
 * a running dsync node, and shuts it down cleanly.
 * @module
 */
export { runNode } from "./node.ts";
export { FolderInUseError, ReadOnlyFolderError } from "./folder_lock.ts";
export { EmptiedFolderError } from "./folder_guard.ts";
export type { NodeConfig, StaticPeer } from "./node_config.ts";
export { DEFAULT_RESCAN_INTERVAL_MS } from "./node_config.ts";
export {
  callInstance,
  ControlRequestError,
  NoInstanceError,
} from "./control_client.ts";
export { JoinFailedError, joinGroup } from "./join.ts";
export {
  type FolderState,
  type PeerReport,
  type StatusDocument,
} from "./status_api.ts";
export {
  folderVersions,
  restoreInFolder,
  type RestoreReply,
} from "./versions_api.ts";
export type { OverrideReply, RevertReply } from "./mode_api.ts";
export type { PauseReply } from "./pause_api.ts";
