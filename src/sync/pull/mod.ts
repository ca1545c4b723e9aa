/**
 * The pull room: deciding what a peer's record means here (planner) and
 * getting its content. The puller queues the paths to work on, fetches
 * each file's chunks from local copies or the least loaded peer that
 * announced them (chunk fetcher and sources), hands the result to the
 * apply room, and retries failures with backoff. Leftover `.part` files of
 * interrupted pulls are cleaned up or reused here.
 * @module
 */

export {
  ChunkFetcher,
  type ChunkFetcherOptions,
  type ChunkSink,
  type ChunkSource,
  NoSourceError,
  type PeerDirectory,
} from "./chunk_fetcher.ts";
export {
  type ChunkLocation,
  findLocalChunk,
  LocalChunkIndex,
  type LocalChunkIndexOptions,
  readChunkVerified,
} from "./chunk_source.ts";
export { conflictName, splitExtension } from "../apply/mod.ts";
export {
  DELETE_SETTLE_MAX_MS,
  DELETE_SETTLE_MS,
  DeleteGuard,
  isMassDelete,
  MASS_DELETE_MIN,
  MASS_DELETE_WINDOW_MS,
  settleTime,
  tooFewForMassDelete,
} from "./delete_guard.ts";
export {
  type FolderMode,
  holdsBack,
  isLocalChange,
  withholds,
} from "./folder_mode.ts";
export {
  type LeftoverPart,
  LeftoverParts,
  type LeftoverPartsOptions,
  type PartCleanupOptions,
  removeLeftoverParts,
  removeStrayPart,
} from "./part_cleanup.ts";
export {
  applyRemote,
  conflictWinner,
  identicalContent,
  lastModifier,
  plan,
  type PlanContext,
} from "./planner.ts";
export { type PullCounters, Puller } from "./puller.ts";
export {
  PullerClosedError,
  type PullerHost,
  type PullerOptions,
  type RemoteRecords,
} from "./pull_context.ts";
export { type Transfer } from "./transfers.ts";
