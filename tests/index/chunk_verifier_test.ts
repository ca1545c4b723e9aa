import { assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import { blake3 } from "../../src/index/hash.ts";
import {
  ChunkVerifier,
  VERIFY_INLINE_BELOW,
} from "../../src/index/chunk_verifier.ts";

Deno.test("ChunkVerifier tells right chunks from wrong ones, small ones inline and big ones on a worker", async () => {
  const verifier = new ChunkVerifier({ size: 1 });
  try {
    const small = crypto.getRandomValues(new Uint8Array(100));
    assertEquals(await verifier.verify(small, blake3(small)), true);
    assertEquals(verifier.workers, 0);
    const big = crypto.getRandomValues(new Uint8Array(VERIFY_INLINE_BELOW * 4));
    // A view into a larger buffer, as chunks in a message are.
    const outer = new Uint8Array(big.length + 10);
    outer.set(big, 5);
    const view = outer.subarray(5, 5 + big.length);
    const hashes = new Uint8Array(64);
    hashes.set(blake3(big), 32);
    const results = await Promise.all([
      verifier.verify(view, hashes.subarray(32)),
      verifier.verify(view, hashes.subarray(0, 32)),
      verifier.verify(big.subarray(1), blake3(big)),
    ]);
    assertEquals(results, [true, false, false]);
    assertEquals(verifier.workers, 1);
    // The caller's bytes are left as they were.
    assertEquals(view, big);
  } finally {
    verifier.close();
  }
});

Deno.test("ChunkVerifier ends its worker when idle and starts one again on demand", async () => {
  const verifier = new ChunkVerifier({ size: 1, idleMs: 50 });
  try {
    const big = crypto.getRandomValues(new Uint8Array(VERIFY_INLINE_BELOW));
    assertEquals(await verifier.verify(big, blake3(big)), true);
    assertEquals(verifier.workers, 1);
    await waitFor(
      () => verifier.workers === 0,
      "the idle worker ended",
      10_000,
      20,
    );
    assertEquals(await verifier.verify(big, blake3(big)), true);
  } finally {
    verifier.close();
  }
});
