import { assertEquals } from "../assert.ts";
import {
  CompressionPolicy,
  MAX_SKIP,
} from "../../src/compress/compression_policy.ts";

/** Which of `n` chunks of one file are tried, given whether tries shrink. */
function tries(
  n: number,
  shrinks: (chunk: number) => boolean,
  policy = new CompressionPolicy(),
  path = "f",
): number[] {
  const tried: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!policy.shouldTry(path)) continue;
    tried.push(i);
    policy.record(path, shrinks(i));
  }
  return tried;
}

Deno.test("CompressionPolicy tries every chunk of a file that compresses", () => {
  assertEquals(tries(6, () => true), [0, 1, 2, 3, 4, 5]);
});

Deno.test("CompressionPolicy backs off exponentially on a file that does not", () => {
  // Misses at 0, 2, 5, 10, 19, 36: skips of 1, 2, 4, 8, 16, then 32.
  assertEquals(tries(40, () => false), [0, 2, 5, 10, 19, 36]);
});

Deno.test("CompressionPolicy skips at most MAX_SKIP chunks between tries", () => {
  const tried = tries(2000, () => false);
  const gaps = tried.slice(1).map((t, i) => t - tried[i]! - 1);
  assertEquals(Math.max(...gaps), MAX_SKIP);
  assertEquals(gaps.at(-1), MAX_SKIP);
});

Deno.test("CompressionPolicy resets a file once a chunk shrinks", () => {
  // Random for 10 chunks, then text.
  assertEquals(tries(16, (i) => i >= 10), [0, 2, 5, 10, 11, 12, 13, 14, 15]);
});

Deno.test("CompressionPolicy keeps files apart", () => {
  const policy = new CompressionPolicy();
  assertEquals(tries(3, () => false, policy, "random.bin"), [0, 2]);
  assertEquals(tries(3, () => true, policy, "text.txt"), [0, 1, 2]);
});
