/**
 * dsync's BLAKE3 (`src/index/hash.ts`: blake3-jit behind `blake3()`,
 * `blake3Into()`, `Blake3Hasher` and the file digest) against independent
 * implementations on pseudo-random inputs: hash-wasm's BLAKE3 on every size
 * from 0 to 2,100 bytes (the 64-byte block and 1 KiB chunk boundaries), the
 * sizes around each power of two up to 1 MiB, and random sizes up to 1 MiB;
 * the reference `b3sum` tool (Rust, from the BLAKE3 team) on files of such
 * sizes when it is installed. The official test vectors are in `hash_test.ts`.
 */
import { createBLAKE3 } from "hash-wasm";
import {
  blake3,
  Blake3Hasher,
  blake3Into,
  toHex,
} from "../../src/index/hash.ts";
import { digestBytes } from "../../src/index/file_digest.ts";
import { assertEquals } from "../assert.ts";
import { noise } from "../_noise.ts";

const MiB = 1024 * 1024;

/** The sizes to check; see the module comment. */
function sizes(seed: number): number[] {
  const out = new Set<number>();
  for (let n = 0; n <= 2100; n++) out.add(n);
  for (let p = 11; p <= 20; p++) {
    for (const d of [-1, 0, 1]) out.add(Math.min(MiB, (1 << p) + d));
  }
  const r = noise(200 * 4, seed);
  for (let i = 0; i < 200; i++) {
    const v = new DataView(r.buffer, i * 4, 4).getUint32(0);
    out.add(v % (MiB + 1));
  }
  return [...out].sort((a, b) => a - b);
}

Deno.test("blake3() and Blake3Hasher agree with hash-wasm on every size to 2 KiB and random sizes to 1 MiB", async () => {
  const reference = await createBLAKE3();
  const ref = (data: Uint8Array) => {
    reference.init();
    reference.update(data);
    return reference.digest("hex");
  };
  const pool = noise(MiB + 64, 17);
  for (const n of sizes(5)) {
    // A varying offset, so inputs are not always aligned in their buffer.
    const data = pool.subarray(n % 61, n % 61 + n);
    const want = ref(data);
    assertEquals(toHex(blake3(data)), want, `blake3() of ${n} bytes`);
    const into = new Uint8Array(32);
    blake3Into(data, into);
    assertEquals(toHex(into), want, `blake3Into() of ${n} bytes`);
    const hasher = new Blake3Hasher();
    const cut = Math.floor(n / 3);
    hasher.update(data.subarray(0, cut)).update(data.subarray(cut));
    assertEquals(toHex(hasher.digest()), want, `Blake3Hasher of ${n} bytes`);
  }
});

Deno.test("the file digest's chunk hashes agree with hash-wasm", async () => {
  const reference = await createBLAKE3();
  for (const [n, seed] of [[3 * MiB + 12_345, 3], [700_001, 4], [5000, 6]]) {
    const data = noise(n!, seed!);
    const digest = digestBytes(data);
    for (const chunk of digest.chunks) {
      reference.init();
      reference.update(
        data.subarray(chunk.offset, chunk.offset + chunk.length),
      );
      assertEquals(toHex(chunk.hash), reference.digest("hex"));
    }
  }
});

function hasB3sum(): boolean {
  try {
    return new Deno.Command("b3sum", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "blake3() agrees with the b3sum tool on files of chosen and random sizes to 1 MiB",
  ignore: !hasB3sum(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const all = sizes(9).filter((n, i) => n > 2100 || i % 97 === 0);
      const pool = noise(MiB + 64, 23);
      const paths: string[] = [];
      const want: string[] = [];
      for (const [i, n] of all.entries()) {
        const data = pool.subarray(i % 53, i % 53 + n);
        const path = `${dir}/${i}`;
        await Deno.writeFile(path, data);
        paths.push(path);
        want.push(toHex(blake3(data)));
      }
      const out = await new Deno.Command("b3sum", {
        args: ["--no-names", ...paths],
      }).output();
      assertEquals(out.success, true);
      const got = new TextDecoder().decode(out.stdout).trim().split("\n");
      assertEquals(got, want);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
