/**
 * Block deltas: a changed chunk sent as the fixed-size blocks that differ
 * from the bytes the receiver's `.part` (a copy of the old version) holds
 * at its offset, so an overwrite costs about what it changed rather than
 * the whole chunks around it (FastCDC finds its old cuts again only a
 * chunk or two after a change). Pure: signatures, the source's diff, the
 * receiver's assembly and whole-chunk check, and when to ask for blocks.
 * The session room carries the messages, the pull room decides per chunk.
 * @module
 */
export { blockSignatures } from "./block_signatures.ts";
export { type BlockDiff, blockLength, diffBlocks } from "./block_diff.ts";
export {
  assembleBlocks,
  assembleVerified,
  BlockDeltaMismatchError,
  BlockShapeError,
} from "./block_assembly.ts";
export { askAsBlocks, type DeltaSituation } from "./delta_choice.ts";
