/**
 * Benchmark of the application-protocol codec: records per second through
 * `encodeMessage` and `decodeMessage` for a full 4096-record `IndexBatch`,
 * and MB/s for 256 KiB chunk responses.
 *
 *     deno run scripts/bench_protocol.ts
 *
 * @module
 */
import {
  decodeMessage,
  encodeMessage,
  type IndexBatch,
  MAX_CHUNK_SIZE,
  MAX_RECORDS_PER_BATCH,
  type Message,
  type WireFileRecord,
} from "../src/protocol/mod.ts";

/** One line of benchmark output. */
export interface Row {
  name: string;
  value: string;
}

function pseudoHash(seed: number): Uint8Array {
  const out = new Uint8Array(32);
  let x = (seed * 2_654_435_761) >>> 0 || 1;
  for (let i = 0; i < 32; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A batch resembling a source tree: 1 to 3 chunks a file, two replicas. */
function sampleBatch(count: number): IndexBatch {
  const records: WireFileRecord[] = [];
  for (let i = 0; i < count; i++) {
    const chunkCount = 1 + (i % 3);
    const chunks = Array.from({ length: chunkCount }, (_, k) => ({
      length: 20_000 + ((i * 7 + k * 13) % 40_000),
      hash: pseudoHash(i * 4 + k + 1),
    }));
    records.push({
      path: `src/module_${i % 97}/component_${i % 31}/file_${i}.ts`,
      kind: "file",
      size: chunks.reduce((sum, c) => sum + c.length, 0),
      mtimeNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n,
      exec: false,
      hash: pseudoHash(i * 4),
      chunks,
      version: [
        { replica: 0x8f3a_11d2_9c44_0b7en, counter: BigInt(1 + (i % 5)) },
        { replica: 0xc001_d00d_f00d_beefn, counter: 3n },
      ],
      deleted: false,
      sequence: BigInt(i + 1),
    });
  }
  return { type: "index_batch", records, last: true };
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns runs per second. */
function rate(fn: () => void, ms: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm up
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    fn();
    runs++;
    elapsed = performance.now() - start;
  }
  return runs / (elapsed / 1000);
}

function perSecond(n: number, unit: string): string {
  return `${Math.round(n).toLocaleString("en-US")} ${unit}/s`;
}

/** Measures the codec; each figure takes about one second. */
export function benchProtocol(): Promise<Row[]> {
  const batch = sampleBatch(MAX_RECORDS_PER_BATCH);
  const bytes = encodeMessage(batch);
  const encodeRate = rate(() => encodeMessage(batch), 1000);
  const decodeRate = rate(() => decodeMessage(bytes), 1000);

  const chunk = new Uint8Array(MAX_CHUNK_SIZE).map((_, i) => (i * 31) & 0xff);
  const response: Message = {
    type: "chunk_response",
    id: 1,
    status: "ok",
    compression: "none",
    data: chunk,
    rawLength: chunk.length,
  };
  const responseBytes = encodeMessage(response);
  const chunkRate = rate(() => decodeMessage(encodeMessage(response)), 1000);
  const mb = (MAX_CHUNK_SIZE * chunkRate) / 1e6;

  return Promise.resolve([
    {
      name: "protocol: IndexBatch size (4096 records, 1-3 chunks each)",
      value: `${bytes.length.toLocaleString("en-US")} bytes`,
    },
    {
      name: "protocol: encode IndexBatch",
      value: perSecond(encodeRate * MAX_RECORDS_PER_BATCH, "records"),
    },
    {
      name: "protocol: decode IndexBatch",
      value: perSecond(decodeRate * MAX_RECORDS_PER_BATCH, "records"),
    },
    {
      name: "protocol: encode+decode 256 KiB ChunkResponse",
      value: `${mb.toFixed(0)} MB/s (${responseBytes.length} bytes each)`,
    },
  ]);
}

if (import.meta.main) {
  for (const row of await benchProtocol()) {
    console.log(`${row.name.padEnd(60)} ${row.value}`);
  }
}
