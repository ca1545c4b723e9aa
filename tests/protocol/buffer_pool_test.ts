import { assert, assertEquals } from "../assert.ts";
import { BufferPool, POOLED_MAX } from "../../src/protocol/buffer_pool.ts";

const KiB = 1024;

Deno.test("BufferPool.take() gives views of buffers of whole 16 KiB granules", () => {
  const pool = new BufferPool(1 << 20);
  const cases: [number, number][] = [
    [0, 16 * KiB],
    [1, 16 * KiB],
    [16 * KiB, 16 * KiB],
    [16 * KiB + 1, 32 * KiB],
    [65_546, 80 * KiB], // a 64 KiB chunk and its message header
    [POOLED_MAX, POOLED_MAX],
    [POOLED_MAX + 1, POOLED_MAX + 1], // beyond: a buffer of its own
  ];
  for (const [length, size] of cases) {
    const view = pool.take(length);
    assertEquals(view.length, length, `${length}`);
    assertEquals(view.byteOffset, 0, `${length}`);
    assertEquals(view.buffer.byteLength, size, `${length}`);
  }
});

Deno.test("BufferPool hands a given-back buffer out again, once", () => {
  const pool = new BufferPool(1 << 20);
  const a = pool.take(40_000);
  pool.give(a.subarray(10, 20)); // any view of it
  pool.give(a); // twice: kept once
  assertEquals(pool.keptBytes, 48 * KiB);
  const b = pool.take(36_000);
  assert(b.buffer === a.buffer);
  assertEquals(b.length, 36_000);
  assert(pool.take(36_000).buffer !== a.buffer);
  assertEquals(pool.keptBytes, 0);
});

Deno.test("BufferPool takes back only its own buffers, up to its cap", () => {
  const pool = new BufferPool(64 * KiB);
  pool.give(new Uint8Array(32 * KiB)); // not made here, though of a pooled size
  pool.give(new Uint8Array(new ArrayBuffer(64 * KiB), 8, 100));
  assertEquals(pool.keptBytes, 0);
  const views = [pool.take(60_000), pool.take(60_000)];
  for (const v of views) pool.give(v);
  assertEquals(pool.keptBytes, 64 * KiB);
});

Deno.test("BufferPool never takes back a buffer that is away on another thread; adopt() makes the one come back its own", () => {
  const pool = new BufferPool(1 << 20);
  const view = pool.take(20 * KiB);
  const away = view.buffer as ArrayBuffer;
  const [back] = structuredClone([away], { transfer: [away] });
  // Detached here: given back now, it would be handed out unusable (or,
  // were the memory shared, while the other thread still used it).
  pool.give(view);
  assertEquals(pool.keptBytes, 0);
  // Not adopted: a stranger's buffer is not taken back either.
  const stranger = structuredClone(new ArrayBuffer(32 * KiB));
  pool.adopt(new ArrayBuffer(32 * KiB), stranger);
  pool.give(new Uint8Array(stranger));
  assertEquals(pool.keptBytes, 0);
  pool.adopt(away, back!);
  pool.give(new Uint8Array(back!, 100, 10));
  assertEquals(pool.keptBytes, 32 * KiB);
  assert(pool.take(20 * KiB).buffer === back);
  // The detached original stays refused after the adoption.
  pool.give(view);
  assertEquals(pool.keptBytes, 0);
});
