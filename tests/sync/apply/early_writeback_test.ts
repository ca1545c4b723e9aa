import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../assert.ts";
import {
  EarlyWriteback,
  type SyncableFile,
  WritebackPacer,
} from "../../../src/sync/apply/early_writeback.ts";

/** Feeds writes of `sizes` to a pacer whose flushes end at once; which writes start one. */
function flushesAfter(step: number, sizes: number[]): number[] {
  const pacer = new WritebackPacer(step);
  const at: number[] = [];
  sizes.forEach((size, i) => {
    if (pacer.wrote(size)) {
      pacer.started();
      pacer.ended();
      at.push(i);
    }
  });
  return at;
}

Deno.test("WritebackPacer starts a flush each time step bytes were written", () => {
  const table: [step: number, sizes: number[], flushes: number[]][] = [
    [10, [], []],
    [10, [9], []],
    [10, [10], [0]],
    [10, [4, 4, 4, 4, 4, 4], [2, 5]],
    [10, [25, 1, 9], [0, 2]], // a big write counts once, the rest starts over
    [10, [0, 0, 0], []],
  ];
  for (const [step, sizes, flushes] of table) {
    assertEquals(flushesAfter(step, sizes), flushes, `${step} ${sizes}`);
  }
});

Deno.test("WritebackPacer never starts a second flush while one runs", () => {
  const pacer = new WritebackPacer(10);
  assert(pacer.wrote(10));
  pacer.started();
  assertEquals(pacer.wrote(50), false);
  pacer.ended();
  assert(pacer.wrote(0), "bytes written during the flush are due next");
});

Deno.test("WritebackPacer refuses a step that is not a positive integer", () => {
  for (const step of [0, -1, 1.5, Number.NaN]) {
    assertThrows(() => new WritebackPacer(step), RangeError, "Writeback step");
  }
});

/** A file whose flushes end when the test says so. */
class FakeFile implements SyncableFile {
  calls = 0;
  #pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  syncData(): Promise<void> {
    this.calls++;
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
    });
  }
  finish(error?: Error): void {
    const next = this.#pending.shift();
    if (next === undefined) throw new Error("no flush is running");
    if (error === undefined) next.resolve();
    else next.reject(error);
  }
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => done = true, () => done = true);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

Deno.test("EarlyWriteback flushes in the background, one flush at a time", async () => {
  const file = new FakeFile();
  const wb = new EarlyWriteback(file, 100);
  wb.wrote(99);
  assertEquals(file.calls, 0);
  wb.wrote(1);
  assertEquals(file.calls, 1);
  wb.wrote(500); // a flush runs: none started
  assertEquals(file.calls, 1);
  const settle = wb.settle();
  assertEquals(await settled(settle), false, "settle waits for the flush");
  file.finish();
  await settle;
  wb.wrote(0); // the 500 bytes written meanwhile are due
  assertEquals(file.calls, 2);
  file.finish();
  await wb.settle();
});

Deno.test("EarlyWriteback.settle() rethrows the first error a flush met", async () => {
  const file = new FakeFile();
  const wb = new EarlyWriteback(file, 10);
  wb.wrote(10);
  file.finish(new Error("EIO: first"));
  await wb.drain();
  wb.wrote(10);
  file.finish(); // a later flush succeeds: the data of the first may be lost
  await assertRejects(() => wb.settle(), Error, "EIO: first");
  await assertRejects(() => wb.settle(), Error, "EIO: first");
});

Deno.test("EarlyWriteback.drain() waits for a running flush and ignores its error", async () => {
  const file = new FakeFile();
  const wb = new EarlyWriteback(file, 10);
  wb.wrote(10);
  const drain = wb.drain();
  assertEquals(await settled(drain), false);
  file.finish(new Error("EIO"));
  await drain;
});
