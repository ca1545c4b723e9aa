import { assert, assertEquals, assertRejects } from "../../assert.ts";
import {
  ChunkWrites,
  WRITE_BLOCK,
} from "../../../src/sync/pull/chunk_writes.ts";

const KiB = 1024;

/** A sink recording its writes (offset, length) into `out`. */
function recording(out: Uint8Array, writes: [number, number][]) {
  return {
    write(offset: number, data: Uint8Array) {
      writes.push([offset, data.length]);
      out.set(data, offset);
      return Promise.resolve();
    },
  };
}

Deno.test("ChunkWrites queues chunks in any order and writes adjacent ones as one block", async () => {
  const size = 2 * WRITE_BLOCK;
  const data = new Uint8Array(size).map((_, i) => i % 251);
  const out = new Uint8Array(size);
  const writes: [number, number][] = [];
  let settled = 0;
  const w = new ChunkWrites(recording(out, writes), (n) => settled += n);
  // 64 KiB chunks of the second MiB, then of the first, each backwards.
  const chunk = 64 * KiB;
  for (const half of [1, 0]) {
    for (let i = 15; i >= 0; i--) {
      const at = half * WRITE_BLOCK + i * chunk;
      w.add(at, data.slice(at, at + chunk));
    }
  }
  await w.drain();
  assertEquals(out, data);
  assertEquals(settled, size);
  // One block per MiB: the second MiB once it was queued, then the first.
  assertEquals(writes, [[WRITE_BLOCK, WRITE_BLOCK], [0, WRITE_BLOCK]]);
});

Deno.test("ChunkWrites holds less than a block until flushed, and splits runs that are not adjacent", async () => {
  const out = new Uint8Array(64 * KiB);
  const writes: [number, number][] = [];
  const w = new ChunkWrites(recording(out, writes), () => {});
  w.add(0, new Uint8Array(4 * KiB).fill(1));
  w.add(8 * KiB, new Uint8Array(4 * KiB).fill(3));
  w.add(4 * KiB, new Uint8Array(2 * KiB).fill(2));
  await Promise.resolve();
  assertEquals(writes, [], "wrote before a block or a flush");
  assertEquals(w.queued, 10 * KiB);
  await w.drain();
  assertEquals(writes, [[0, 6 * KiB], [8 * KiB, 4 * KiB]]);
  assertEquals(out[5 * KiB], 2);
  assertEquals(out[7 * KiB], 0);
});

Deno.test("ChunkWrites keeps a write's failure, tells of it and writes no more", async () => {
  let settledZero = false;
  let tries = 0;
  const w = new ChunkWrites({
    write() {
      tries++;
      return Promise.reject(new Error("disk full"));
    },
  }, (n) => settledZero ||= n === 0);
  w.add(0, new Uint8Array(16));
  await assertRejects(() => w.drain(), Error, "disk full");
  assert(settledZero, "the failure was not told");
  assertEquals(w.failure?.message, "disk full");
  w.add(16, new Uint8Array(16));
  await assertRejects(() => w.drain(), Error, "disk full");
  assertEquals(tries, 1);
});

Deno.test("ChunkWrites gives a chunk's buffer back only once its write is done (released buffers poisoned)", async () => {
  const chunk = 64 * KiB;
  const expected = [1, 2, 3].map((v) => new Uint8Array(chunk).fill(v));
  const released: Uint8Array[] = [];
  const pending: { data: Uint8Array; offset: number; done: () => void }[] = [];
  const sink = {
    write(offset: number, data: Uint8Array) {
      // The sink holds a view until the write completes, as the runtime does.
      return new Promise<void>((done) => pending.push({ data, offset, done }));
    },
  };
  const w = new ChunkWrites(sink, () => {}, (data) => {
    released.push(data);
    data.fill(0xee); // reused at once: a write still holding it would see this
  });
  // Not adjacent: each piece is written as its own view, not copied.
  w.add(0, expected[0]!.slice());
  w.add(2 * chunk, expected[1]!.slice());
  w.add(4 * chunk, expected[2]!.slice());
  const drained = w.drain();
  for (let i = 0; i < 3; i++) {
    while (pending.length === 0) await Promise.resolve();
    const write = pending.shift()!;
    assertEquals(released.length, i, "nothing released while its write runs");
    assertEquals(write.data, expected[i]!, "the write saw its own bytes");
    write.done();
  }
  await drained;
  assertEquals(released.length, 3);
});
