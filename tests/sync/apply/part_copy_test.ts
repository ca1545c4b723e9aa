import { blake3 } from "../../../src/index/hash.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import type { StoredStat } from "../../../src/index/store.ts";
import { PartFile } from "../../../src/sync/apply/atomic_writer.ts";
import { chunksInPlace } from "../../../src/sync/apply/part_copy.ts";
import { WRITEBACK_STEP } from "../../../src/sync/apply/early_writeback.ts";
import type { PartTarget } from "../../../src/sync/apply/part_target.ts";
import { assert, assertEquals } from "../../assert.ts";
import { noise } from "../../_noise.ts";

const enc = new TextEncoder();

function chunks(...parts: string[]) {
  return parts.map((p) => ({ length: p.length, hash: blake3(enc.encode(p)) }));
}

Deno.test("chunksInPlace() finds the chunks at the same offset with the same length and hash", () => {
  const cases: [string, string[], string[], [number, number][]][] = [
    ["unchanged", ["aaaa", "bb", "ccc"], ["aaaa", "bb", "ccc"], [[0, 4], [
      4,
      2,
    ], [6, 3]]],
    ["one overwritten", ["aaaa", "BB", "ccc"], ["aaaa", "bb", "ccc"], [[0, 4], [
      6,
      3,
    ]]],
    ["cut differently", ["aaaa", "bbc", "cc"], ["aaaa", "bb", "ccc"], [[0, 4]]],
    ["shifted by an insert", ["x", "aaaa", "bb"], ["aaaa", "bb"], []],
    ["appended", ["aaaa", "bb", "new"], ["aaaa", "bb"], [[0, 4], [4, 2]]],
    ["truncated", ["aaaa"], ["aaaa", "bb"], [[0, 4]]],
    ["was empty", ["aaaa"], [], []],
  ];
  for (const [name, next, previous, want] of cases) {
    const got = chunksInPlace(chunks(...next), chunks(...previous));
    assertEquals([...got.chunks], want, name);
    assertEquals(got.bytes, want.reduce((n, [, l]) => n + l, 0), name);
  }
});

async function withFolder(fn: (folder: string) => Promise<void>) {
  const folder = await Deno.makeTempDir({ prefix: "dsync-copy-" });
  try {
    await fn(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

async function statOf(path: string, os: string): Promise<StoredStat> {
  const info = await Deno.lstat(os);
  return {
    path,
    kind: "file",
    size: info.size,
    mtimeMs: info.mtime!.getTime(),
    exec: false,
    deleted: false,
    ...(info.ino === null ? {} : { inode: info.ino }),
  };
}

function targetOf(
  folder: string,
  data: Uint8Array,
  expected: StoredStat | undefined,
): PartTarget {
  const d = digestBytes(data);
  return {
    folder,
    path: "big.bin",
    size: data.length,
    hash: d.hash,
    chunks: d.chunks,
    mtimeNs: 1_600_000_000_000_000_000n,
    exec: false,
    expected,
  };
}

/**
 * Overwrites 200,000 bytes at 1 MiB of a file of `size` random bytes and
 * cuts 100,000 off its end, builds the new version from a copy of the old
 * one writing only the chunks not in place, and checks what it kept,
 * wrote and committed.
 */
async function patchThroughCopy(folder: string, size: number): Promise<void> {
  const old = noise(size, 5);
  await Deno.writeFile(`${folder}/big.bin`, old);
  const next = old.slice(0, old.length - 100_000);
  next.set(noise(200_000, 6), 1 << 20); // overwritten in place, and cut
  const oldChunks = digestBytes(old).chunks;
  const t = targetOf(
    folder,
    next,
    await statOf("big.bin", `${folder}/big.bin`),
  );
  const part = await PartFile.fromCopy(t, oldChunks);
  assert(part !== undefined);
  let kept = 0;
  let written = 0;
  for (const c of digestBytes(next).chunks) {
    if (part.inPlace(c.offset, c.length)) {
      await part.keep(c.offset, c.length);
      kept += c.length;
    } else {
      await part.write(
        c.offset,
        next.subarray(c.offset, c.offset + c.length),
      );
      written += c.length;
    }
  }
  assert(kept > next.length / 2, `kept ${kept}`);
  assert(written >= 200_000 && written < 1 << 20, `wrote ${written}`);
  await part.commit();
  assertEquals(await Deno.readFile(`${folder}/big.bin`), next);
}

Deno.test("PartFile.fromCopy() starts from the current file and writes only the changed chunks", async () => {
  await withFolder((folder) => patchThroughCopy(folder, 3 << 20));
});

Deno.test("PartFile.fromCopy() of a file over one writeback step commits what was written while the copy was flushed", async () => {
  await withFolder((folder) =>
    patchThroughCopy(folder, WRITEBACK_STEP + (3 << 20))
  );
});

Deno.test("PartFile.fromCopy() copies nothing from a file the index has not seen as it is, or that shares too little", async () => {
  await withFolder(async (folder) => {
    const old = noise(2 << 20, 7);
    const os = `${folder}/big.bin`;
    await Deno.writeFile(os, old);
    const expected = await statOf("big.bin", os);
    const oldChunks = digestBytes(old).chunks;
    const next = old.slice();
    next.set(noise(1000, 8), 500_000);
    // Edited since it was indexed: another mtime.
    await Deno.utime(os, new Date(), new Date(expected.mtimeMs + 5_000));
    assertEquals(
      await PartFile.fromCopy(targetOf(folder, next, expected), oldChunks),
      undefined,
    );
    // Shifted by an insert at the start: nothing in place.
    const shifted = new Uint8Array(old.length + 1);
    shifted.set(old, 1);
    const now = await statOf("big.bin", os);
    assertEquals(
      await PartFile.fromCopy(targetOf(folder, shifted, now), oldChunks),
      undefined,
    );
    // Nothing was left behind.
    const names = [];
    for await (const e of Deno.readDir(folder)) names.push(e.name);
    assertEquals(names, ["big.bin"]);
  });
});
