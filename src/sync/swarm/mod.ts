/**
 * The swarm room: a device still receiving a big file serves the chunks it
 * already has, and a receiver asks different peers for different chunks at
 * once. Our own pulls in progress (partial files) are announced to peers
 * (`Availability`, rate-limited by the announcer) and served from their
 * `.part`; what each peer announced (peer claims) and the pure choice of
 * a source per chunk let the chunk fetcher spread its requests.
 * @module
 */

export { rangesHold, rangesOf, rangesSize } from "./chunk_ranges.ts";
export {
  MAX_CLAIMED_FILES,
  MAX_CLAIMED_RANGES,
  PeerClaims,
} from "./peer_claims.ts";
export {
  canServe,
  type ChoiceState,
  chooseSource,
  type SourceCandidate,
} from "./source_choice.ts";
export {
  type PartialChunk,
  type PartialEvent,
  PartialFile,
  PartialFiles,
  type PartialTarget,
} from "./partial_files.ts";
export {
  ANNOUNCE_INTERVAL_MS,
  type AnnouncerOptions,
  AvailabilityAnnouncer,
} from "./announcer.ts";
