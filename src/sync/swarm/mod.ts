/**
 * The swarm room: a device still receiving a big file serves the chunks it
 * already has, and a receiver asks different peers for different chunks at
 * once. Our own pulls in progress (partial files) are announced to peers
 * (`Availability`, rate-limited by the announcer) and served from their
 * `.part`; what each peer announced (peer claims) and the pure choice of
 * a source per chunk let the chunk fetcher spread its requests; each
 * receiver takes a big file's chunks in an order of its own (chunk order),
 * so receivers starting together ask for different chunks.
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
  rankSources,
  type SourceCandidate,
} from "./source_choice.ts";
export {
  ChunkOrder,
  type Holders,
  orderSeed,
  permutation,
  type Segment,
  SEGMENT_MAX_BYTES,
  SEGMENT_MIN_BYTES,
  segmentBytesFor,
  SEGMENTS_WANTED,
  segmentsOf,
} from "./chunk_order.ts";
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
