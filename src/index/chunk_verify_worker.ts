/**
 * Worker side of `ChunkVerifier`: hashes each chunk it is sent and answers
 * whether it matches. Only the verdict goes back.
 * @module
 */

import { blake3, sameBytes } from "./hash.ts";

/** Message to the worker: does `data` hash to `hash`? */
export interface VerifyJob {
  readonly id: number;
  readonly data: Uint8Array<ArrayBuffer>;
  readonly hash: Uint8Array<ArrayBuffer>;
}

/** Message from the worker. */
export interface VerifyResult {
  readonly id: number;
  readonly ok: boolean;
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent<VerifyJob>) => void) | null;
  postMessage(message: VerifyResult): void;
}

// Only act as a worker when loaded as one (importing the types is harmless).
if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (ev) => {
    const { id, data, hash } = ev.data;
    scope.postMessage({ id, ok: sameBytes(blake3(data), hash) });
  };
}
