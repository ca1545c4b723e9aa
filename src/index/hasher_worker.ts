/**
 * Worker side of `HasherPool`: digests the files it is sent and answers with
 * flat, transferred buffers (no per-chunk objects cross the thread boundary).
 * A job names one file (read asynchronously, any size) or a batch of small
 * files (read synchronously, one after the other: see `small_file_batch.ts`).
 * @module
 */

import {
  digestFilePacked,
  digestFilePart,
  type DigestPart,
} from "./file_digest.ts";
import { BLAKE3_LEN, blake3Into } from "./hash.ts";
import type { PreviousChunks } from "./known_cuts.ts";
import {
  digestSmallFiles,
  type PackedBatch,
  splitPaths,
  transferablesOf,
} from "./small_file_batch.ts";

/** Message to the worker: digest the file at `path`, or the small files at `paths`. */
export type HashJob =
  /** `previous`: the chunks the index holds for it (see `known_cuts.ts`). */
  | { id: number; path: string; previous?: PreviousChunks }
  /** Part of one big file: see `split_digest.ts`. */
  | {
    id: number;
    path: string;
    from: number;
    limit: number;
    previous?: PreviousChunks;
  }
  /** `paths` as made by `joinPaths`. */
  | { id: number; paths: string; limit: number }
  /**
   * BLAKE3 of each piece of `buffers` (transferred, sent back in the same
   * order): `spans` holds a (buffer index, offset, length) triple per piece.
   */
  | { id: number; buffers: ArrayBuffer[]; spans: Uint32Array<ArrayBuffer> };

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
  | { id: number; ok: true; batch: PackedBatch }
  | { id: number; ok: true; part: DigestPart }
  | {
    id: number;
    ok: true;
    digest: Uint8Array<ArrayBuffer>;
    buffers: ArrayBuffer[];
  }
  | { id: number; ok: false; name: string; message: string };

interface WorkerScope {
  onmessage: ((ev: MessageEvent<HashJob>) => void) | null;
  postMessage(message: HashResult, transfer?: Transferable[]): void;
}

async function run(scope: WorkerScope, job: HashJob): Promise<void> {
  try {
    if ("buffers" in job) {
      const { buffers, spans } = job;
      const digest = new Uint8Array(BLAKE3_LEN * (spans.length / 3));
      for (let i = 0, k = 0; k < spans.length; i++, k += 3) {
        blake3Into(
          new Uint8Array(buffers[spans[k]!]!, spans[k + 1]!, spans[k + 2]!),
          digest.subarray(i * BLAKE3_LEN),
        );
      }
      scope.postMessage(
        { id: job.id, ok: true, digest, buffers },
        [digest.buffer, ...buffers],
      );
      return;
    }
    if ("paths" in job) {
      const batch = digestSmallFiles(splitPaths(job.paths), job.limit);
      scope.postMessage(
        { id: job.id, ok: true, batch },
        transferablesOf(batch),
      );
      return;
    }
    if ("from" in job) {
      const part = await digestFilePart(
        job.path,
        job.from,
        job.limit,
        undefined,
        job.previous,
      );
      scope.postMessage({ id: job.id, ok: true, part }, [
        part.lengths.buffer,
        part.hashes.buffer,
      ]);
      return;
    }
    const d = await digestFilePacked(job.path, undefined, job.previous);
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

/**
 * Runs jobs as they come, except that jobs naming one file (read
 * asynchronously) run one after the other, in order: the pool keeps a
 * second job waiting here so that a worker never idles between two, and
 * had the two been read in turns, both would finish late. 4 files of
 * 256 MiB, the first cut by both workers: that one was done 0.74 s into
 * the scan, its record sent only then (0.3 s one at a time).
 */
export function jobRunner(
  runJob: (job: HashJob) => Promise<void>,
): (job: HashJob) => void {
  let files: Promise<void> = Promise.resolve();
  return (job) => {
    if ("path" in job) files = files.then(() => runJob(job));
    else void runJob(job);
  };
}

// Only act as a worker when loaded as one (importing the types is harmless).
if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as WorkerScope;
  const take = jobRunner((job) => run(scope, job));
  scope.onmessage = (ev) => take(ev.data);
}
