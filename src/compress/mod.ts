/**
 * Per-chunk LZ4 for chunk responses: the codec (WebAssembly emitted at load
 * time, with the same algorithms in TypeScript as fallback), the per-peer
 * policy that stops trying on data that does not shrink, the governor
 * that stops compressing when the link is faster than the compressor, and
 * the rule that a loopback peer gets no compression at all. A
 * leaf: it knows bytes, not sessions or files.
 * @module
 */

export {
  compressIfWorthwhile,
  decompressChunk,
  DecompressionError,
  type EncodedChunk,
  LZ4_AVAILABLE,
} from "./chunk_compression.ts";
export {
  CompressionGovernor,
  type GovernorOptions,
  type GovernorPhase,
  type GovernorStep,
  governorStep,
} from "./compression_governor.ts";
export { CompressionPolicy } from "./compression_policy.ts";
export { isLoopbackPeer } from "./loopback_peer.ts";
