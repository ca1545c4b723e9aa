/**
 * End-to-end sync of big workloads between two real dsync processes on
 * loopback: a download resumed after the receiver is killed, a 1 GiB file,
 * 10,000 small files in nested folders and the rename of a 100 MiB file.
 * Every file is compared by hash at the end (`SyncPair.identical`).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import {
  partHeldBytes,
  partSize,
  randomBytes,
  SyncPair,
  writeTree,
} from "./_folders.ts";
import { waitFor } from "../_wait.ts";

import { LOGGED_SIZE, parseLoggedBytes } from "./_units.ts";

const MiB = 1024 * 1024;

/**
 * A byte count a cleanly stopped node logged in its summary line (in human
 * units: off by at most half its last digit, 0.5 MB below 1 GB, far inside
 * the slack of the checks).
 */
function summaryBytes(
  output: string,
  what: "received" | "resumed" | "reused",
): number {
  const pattern = what === "received"
    ? new RegExp(`Received (${LOGGED_SIZE}) of file data`, "g")
    : what === "reused"
    ? new RegExp(`reused (${LOGGED_SIZE}) from local files`, "g")
    : new RegExp(`(${LOGGED_SIZE}) from resumed \\.part files`, "g");
  const all = [...output.matchAll(pattern)];
  assert(all.length > 0, `no ${what} byte count in output:\n${output}`);
  return parseLoggedBytes(all[all.length - 1]![1]!);
}

/** Regular files under `dir` (dsync's own state and `.part` files aside). */
async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.name === ".dsync" || e.name.endsWith(".part")) continue;
    if (e.isDirectory) count += await countFiles(`${dir}/${e.name}`);
    else if (e.isFile && e.name !== ".dsyncignore") count++;
  }
  return count;
}

/** Writes `size` bytes (a multiple of 1 MiB): a seeded MiB, changed per MiB. */
async function writeBigFile(path: string, size: number, seed: number) {
  const base = randomBytes(MiB, seed);
  const baseWords = new Uint32Array(base.buffer);
  const block = new Uint8Array(MiB);
  const words = new Uint32Array(block.buffer);
  using file = await Deno.open(path, { write: true, createNew: true });
  for (let i = 0; i < size / MiB; i++) {
    const key = Math.imul(i + 1, 0x9e3779b1) >>> 0;
    for (let w = 0; w < words.length; w++) words[w] = baseWords[w]! ^ key;
    for (let done = 0; done < block.length;) {
      done += await file.write(block.subarray(done));
    }
  }
}

Deno.test("sync: a receiver killed mid-transfer resumes without fetching its .part again", async () => {
  await using pair = await SyncPair.create();
  const size = 256 * MiB;
  await writeBigFile(`${pair.a.dir}/large.bin`, size, 5);
  pair.startBoth();
  // Held, not size: the part is filled in the receiver's own order.
  await waitFor(
    async () => await partHeldBytes(pair.b.dir) > 96 * MiB,
    "96 MiB in the receiver's .part",
    90_000,
    5,
  );
  await pair.stop(pair.b, "SIGKILL");
  const kept = await partHeldBytes(pair.b.dir);
  assert(kept > 96 * MiB, `.part of ${kept} bytes after the kill`);
  const receiver = pair.start(pair.b);
  const snap = await pair.identical({ timeoutMs: 90_000 });
  assert(snap.get("large.bin")?.startsWith(`file:false:${size}:`));
  assertEquals(await pair.stop(pair.b), 0);
  const received = summaryBytes(receiver.output, "received");
  const resumed = summaryBytes(receiver.output, "resumed");
  // The last block written before the kill may be torn: allow for it and
  // for chunks that straddle its end.
  const slack = 8 * MiB;
  assert(
    received < size - kept + slack,
    `received ${received} bytes after the restart with ${kept} in the .part`,
  );
  assert(
    resumed > kept - slack,
    `resumed ${resumed} of the ${kept} bytes in the .part`,
  );
  assertEquals(await partSize(pair.b.dir), 0);
});

Deno.test("sync: a 1 GiB file arrives byte-identical", async () => {
  await using pair = await SyncPair.create();
  const size = 1024 * MiB;
  await writeBigFile(`${pair.a.dir}/huge.bin`, size, 9);
  pair.startBoth();
  await waitFor(
    async () => {
      try {
        return (await Deno.stat(`${pair.b.dir}/huge.bin`)).size === size;
      } catch {
        return false;
      }
    },
    "the file in place on the receiver",
    120_000,
    200,
  );
  const snap = await pair.identical({ timeoutMs: 60_000 });
  assert(snap.get("huge.bin")?.startsWith(`file:false:${size}:`));
});

Deno.test("sync: 10,000 small files in nested folders arrive byte-identical; an edit made meanwhile too", async () => {
  await using pair = await SyncPair.create();
  const files: Record<string, Uint8Array> = {};
  const noise = randomBytes(10_000 * 64, 21);
  for (let i = 0; i < 10_000; i++) {
    const path = `d${i % 10}/e${Math.floor(i / 10) % 10}/f${
      Math.floor(i / 100) % 10
    }/file-${i}.txt`;
    // Sizes 64 B .. ~8 KiB, each content distinct.
    const len = 64 + (i * 37) % 8000;
    const data = new Uint8Array(len);
    for (let k = 0; k < len; k += 64) {
      data.set(noise.subarray(i * 64, i * 64 + Math.min(64, len - k)), k);
    }
    data[0] = i & 0xff;
    data[1] = i >> 8;
    files[path] = data;
  }
  await writeTree(pair.a.dir, files);
  // On both sides alike, so that no peer fetches it (a fetch would notice
  // the edit below by itself).
  for (const dir of [pair.a.dir, pair.b.dir]) {
    await writeTree(dir, { "own.txt": new TextEncoder().encode("1") });
  }
  pair.startBoth();
  // The receiver stops watching while it writes that many files; an edit
  // made meanwhile is found by the scan after it and reaches the sender.
  await pair.b.proc!.waitForOutput(/Not watching the folder/, 60_000);
  await Deno.writeTextFile(`${pair.b.dir}/own.txt`, "2, edited while pulling");
  // A cheap poll first: comparing snapshots of 10,000 files takes CPU from
  // the processes under test.
  await waitFor(
    async () => await countFiles(pair.b.dir) === 10_001,
    "10,000 files on the receiver",
    120_000,
    500,
  );
  const snap = await pair.identical({ timeoutMs: 60_000 });
  let count = 0;
  for (const value of snap.values()) if (value.startsWith("file:")) count++;
  assertEquals(count, 10_001);
  assertEquals(
    await Deno.readTextFile(`${pair.a.dir}/own.txt`),
    "2, edited while pulling",
  );
});

Deno.test("sync: renaming a 100 MiB file transfers less than 1 MiB", async () => {
  await using pair = await SyncPair.create();
  const data = randomBytes(100 * MiB, 3);
  await writeTree(pair.a.dir, { "big.bin": data });
  await writeTree(pair.b.dir, { "big.bin": data });
  pair.startBoth();
  await pair.connected();
  await pair.identical();
  await Deno.rename(`${pair.a.dir}/big.bin`, `${pair.a.dir}/moved.bin`);
  await pair.identical({
    timeoutMs: 60_000,
    check: (s) => s.has("moved.bin") && !s.has("big.bin"),
  });
  const receiver = pair.b.proc!;
  assertEquals(await pair.stop(pair.b), 0);
  const received = summaryBytes(receiver.output, "received");
  assert(received < 1 * MiB, `received ${received} bytes for a rename`);
});

Deno.test("sync: a 1 MiB overwrite inside a 64 MiB file is fetched alone and written over a copy of the old version", async () => {
  await using pair = await SyncPair.create();
  const data = randomBytes(64 * MiB, 4);
  await writeTree(pair.a.dir, { "big.bin": data });
  await writeTree(pair.b.dir, { "big.bin": data });
  pair.startBoth();
  await pair.connected();
  const before = await pair.identical();
  const patch = randomBytes(MiB, 5);
  {
    using file = await Deno.open(`${pair.a.dir}/big.bin`, { write: true });
    await file.seek(20 * MiB, Deno.SeekMode.Start);
    for (let done = 0; done < patch.length;) {
      done += await file.write(patch.subarray(done));
    }
  }
  await pair.identical({
    timeoutMs: 60_000,
    check: (s) => s.get("big.bin") !== before.get("big.bin"),
  });
  const receiver = pair.b.proc!;
  assertEquals(await pair.stop(pair.b), 0);
  const received = summaryBytes(receiver.output, "received");
  const reused = summaryBytes(receiver.output, "reused");
  // The changed MiB and the chunks it cuts into, nothing else; and none
  // of the unchanged 63 MiB read back through dsync (the kernel copied it).
  assert(received < 2 * MiB, `received ${received} bytes for 1 MiB changed`);
  assert(reused < MiB, `read ${reused} bytes back from local files`);
});
