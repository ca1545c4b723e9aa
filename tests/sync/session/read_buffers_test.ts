import { assert, assertEquals } from "../../assert.ts";
import { ReadBuffers } from "../../../src/sync/session/read_buffers.ts";

Deno.test("ReadBuffers.take() gives views of power-of-two buffers of at least 16 KiB", () => {
  const pool = new ReadBuffers();
  const cases: [number, number][] = [
    [1, 16 * 1024],
    [16 * 1024, 16 * 1024],
    [16 * 1024 + 1, 32 * 1024],
    [65_536, 65_536],
    [100_000, 131_072],
    [256 * 1024, 256 * 1024],
    [256 * 1024 + 1, 256 * 1024 + 1], // beyond a chunk: a buffer of its own
  ];
  for (const [length, size] of cases) {
    const view = pool.take(length);
    assertEquals(view.length, length, `${length}`);
    assertEquals(view.buffer.byteLength, size, `${length}`);
  }
});

Deno.test("ReadBuffers hands a given-back buffer out again, once", () => {
  const pool = new ReadBuffers();
  const a = pool.take(40_000);
  pool.give(a);
  pool.give(a); // twice: kept once
  assertEquals(pool.keptBytes, 65_536);
  const b = pool.take(50_000);
  assert(b.buffer === a.buffer);
  assertEquals(b.length, 50_000);
  const c = pool.take(50_000);
  assert(c.buffer !== a.buffer);
  assertEquals(pool.keptBytes, 0);
});

Deno.test("ReadBuffers keeps no more than its cap, nor buffers of other sizes", () => {
  const pool = new ReadBuffers(64 * 1024);
  const views = [pool.take(60_000), pool.take(60_000)];
  for (const v of views) pool.give(v);
  assertEquals(pool.keptBytes, 65_536);
  pool.give(new Uint8Array(3000));
  pool.give(new Uint8Array(new ArrayBuffer(65_536), 8, 100));
  assertEquals(pool.keptBytes, 65_536);
});
