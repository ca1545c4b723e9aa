/**
 * Deterministic pseudo-random bytes for tests: xorshift32, the top byte of
 * each step. Chunker test vectors are pinned to this exact sequence.
 * @module
 */
export function noise(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}
