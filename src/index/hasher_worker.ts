/**
 * Worker side of `HasherPool`: digests the files it is sent and answers with
 * flat, transferred buffers (no per-chunk objects cross the thread boundary).
 * @module
 */

import { digestFilePacked } from "./file_digest.ts";
import { Blake3Hasher } from "./hash.ts";

/** Message to the worker: digest the file at `path`. */
export interface HashJob {
  id: number;
  path: string;
}

/**
 * Messages of a stream digest (`HasherPool.stream`): the shared ring its
 * bytes pass through, the ranges of it to hash in order, then the end
 * (answered with the BLAKE3) or a cancel. Each `data` is answered with an
 * `ack` once hashed, which frees its range.
 */
export type StreamJob =
  | { stream: number; op: "open"; ring: SharedArrayBuffer }
  | { stream: number; op: "data"; at: number; length: number }
  | { stream: number; op: "end" }
  | { stream: number; op: "cancel" };

/** Message from the worker about a stream. */
export type StreamResult =
  | { stream: number; op: "ack"; bytes: number }
  | { stream: number; op: "digest"; hash: Uint8Array<ArrayBuffer> };

/** Message from the worker: a packed digest, or the error that stopped it. */
export type HashResult =
  | {
    id: number;
    ok: true;
    size: number;
    hash: Uint8Array<ArrayBuffer>;
    lengths: Uint32Array<ArrayBuffer>;
    hashes: Uint8Array<ArrayBuffer>;
  }
  | { id: number; ok: false; name: string; message: string };

interface WorkerScope {
  onmessage: ((ev: MessageEvent<HashJob | StreamJob>) => void) | null;
  postMessage(
    message: HashResult | StreamResult,
    transfer?: Transferable[],
  ): void;
}

const streams = new Map<
  number,
  { hasher: Blake3Hasher; ring: SharedArrayBuffer }
>();

function onStream(scope: WorkerScope, job: StreamJob): void {
  const open = streams.get(job.stream);
  switch (job.op) {
    case "open":
      streams.set(job.stream, { hasher: new Blake3Hasher(), ring: job.ring });
      return;
    case "data":
      if (open === undefined) return;
      open.hasher.update(new Uint8Array(open.ring, job.at, job.length));
      scope.postMessage({ stream: job.stream, op: "ack", bytes: job.length });
      return;
    case "end": {
      streams.delete(job.stream);
      const hash = (open?.hasher ?? new Blake3Hasher()).digest() as Uint8Array<
        ArrayBuffer
      >;
      scope.postMessage({ stream: job.stream, op: "digest", hash }, [
        hash.buffer,
      ]);
      return;
    }
    case "cancel":
      streams.delete(job.stream);
      open?.hasher.digest(); // returns its engine to the pool
      return;
  }
}

async function run(scope: WorkerScope, job: HashJob): Promise<void> {
  try {
    const d = await digestFilePacked(job.path);
    scope.postMessage(
      {
        id: job.id,
        ok: true,
        size: d.size,
        hash: d.hash,
        lengths: d.lengths,
        hashes: d.hashes,
      },
      [d.hash.buffer, d.lengths.buffer, d.hashes.buffer],
    );
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    scope.postMessage({
      id: job.id,
      ok: false,
      name: e.name,
      message: e.message,
    });
  }
}

// Only act as a worker when loaded as one (importing the types is harmless).
if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (ev) => {
    const job = ev.data;
    if ("stream" in job) onStream(scope, job);
    else void run(scope, job);
  };
}
