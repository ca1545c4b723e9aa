/**
 * Index batches of one record each at the chunk cap (`MAX_CHUNKS_PER_RECORD`
 * one-byte chunks with distinct hashes, so no chunk is found locally), as a
 * hostile peer announces them and never serves them (issue #19, point 5).
 * @module
 */
import { rawMessage } from "./_hostile_peer.ts";
import { fileHashOfChunks } from "../../src/index/hash.ts";
import { MAX_CHUNKS_PER_RECORD } from "../../src/protocol/mod.ts";

/** `records` index batches of one record at the chunk cap each, never served. */
export function bigRecordMessages(
  records: number,
  replicaId: bigint,
): Uint8Array[] {
  const n = MAX_CHUNKS_PER_RECORD;
  const messages: Uint8Array[] = [];
  for (let r = 0; r < records; r++) {
    // Distinct hashes, so no chunk is found locally.
    const hashes = new Uint8Array(32 * n);
    const view = new DataView(hashes.buffer);
    const chunks = [];
    for (let i = 0; i < n; i++) {
      view.setUint32(i * 32, i);
      view.setUint32(i * 32 + 4, r);
      view.setUint32(i * 32 + 8, 0x5eed);
      chunks.push({ length: 1, hash: hashes.subarray(i * 32, i * 32 + 32) });
    }
    messages.push(rawMessage({
      type: "index_batch",
      last: true,
      records: [{
        path: `big-${r}.bin`,
        kind: "file",
        size: n,
        mtimeNs: 1_700_000_000_000_000_000n,
        exec: false,
        hash: fileHashOfChunks(chunks),
        chunks,
        version: [{ replica: replicaId, counter: 1n }],
        deleted: false,
        sequence: BigInt(r + 1),
      }],
    }));
  }
  return messages;
}
