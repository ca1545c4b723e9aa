import { blake3 } from "../../../src/index/hash.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import type { StoredStat } from "../../../src/index/store.ts";
import { PartFile } from "../../../src/sync/apply/atomic_writer.ts";
import type { PartTarget } from "../../../src/sync/apply/part_target.ts";
import {
  PART_FILE_PATTERN,
  partName,
} from "../../../src/sync/apply/part_name.ts";
import { writeSymlink } from "../../../src/sync/apply/symlink_writer.ts";
import { WRITEBACK_STEP } from "../../../src/sync/apply/early_writeback.ts";
import {
  ContentMismatchError,
  LocalChangeError,
  UnsafePathError,
} from "../../../src/sync/apply/errors.ts";
import { assert, assertEquals, assertRejects } from "../../assert.ts";
import { noise } from "../../_noise.ts";

const IS_WINDOWS = Deno.build.os === "windows";
const enc = new TextEncoder();
const MTIME_NS = 1_600_000_000_123_000_000n; // whole ms

async function withDirs(
  fn: (folder: string, outside: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "dsync-writer-" });
  const folder = `${root}/folder`;
  const outside = `${root}/outside`;
  await Deno.mkdir(folder);
  await Deno.mkdir(outside);
  try {
    await fn(folder, outside);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function target(
  folder: string,
  path: string,
  data: Uint8Array,
  more: Partial<PartTarget> = {},
): PartTarget {
  const digest = digestBytes(data);
  return {
    folder,
    path,
    size: data.length,
    hash: digest.hash,
    chunks: digest.chunks,
    mtimeNs: MTIME_NS,
    exec: false,
    expected: undefined,
    ...more,
  };
}

/** What the index would hold for the file at `os` now. */
async function statOf(path: string, os: string): Promise<StoredStat> {
  const info = await Deno.lstat(os);
  return {
    path,
    kind: "file",
    size: info.size,
    mtimeMs: info.mtime!.getTime(),
    exec: ((info.mode ?? 0) & 0o100) !== 0,
    deleted: false,
    ...(info.ino === null ? {} : { inode: info.ino }),
  };
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("PartFile.commit() writes the file with its mtime and exec bit, leaving no .part", async () => {
  await withDirs(async (folder) => {
    const data = enc.encode("#!/bin/sh\necho hi\n");
    await using part = await PartFile.create(
      target(folder, "bin/run.sh", data, { exec: true }),
    );
    assert(PART_FILE_PATTERN.test(part.partPath.split("/").pop()!));
    await part.write(0, data);
    const { path, info } = await part.commit();
    assertEquals(path, "bin/run.sh");
    assertEquals(await Deno.readFile(`${folder}/bin/run.sh`), data);
    assertEquals(info.mtime!.getTime(), Number(MTIME_NS / 1_000_000n));
    assertEquals(info.size, data.length);
    if (!IS_WINDOWS) assert(((info.mode ?? 0) & 0o100) !== 0, "exec bit");
    assertEquals(await names(`${folder}/bin`), ["run.sh"]);
  });
});

Deno.test("PartFile.commit() clears the exec bit and keeps a sub-ms mtime to the ms", async () => {
  await withDirs(async (folder) => {
    const data = enc.encode("plain");
    const mtimeNs = 1_600_000_000_123_456_789n;
    await using part = await PartFile.create(
      target(folder, "f.txt", data, { mtimeNs }),
    );
    await part.write(0, data);
    const { info } = await part.commit();
    assertEquals(info.mtime!.getTime(), 1_600_000_000_123);
    if (!IS_WINDOWS) assertEquals((info.mode ?? 0) & 0o111, 0);
  });
});

Deno.test("PartFile.commit() writes an empty file", async () => {
  await withDirs(async (folder) => {
    const empty = new Uint8Array(0);
    await using part = await PartFile.create(target(folder, "empty", empty));
    const { info } = await part.commit();
    assertEquals(info.size, 0);
    assertEquals(await names(folder), ["empty"]);
  });
});

Deno.test("PartFile accepts chunks in any order and verifies by reading back", async () => {
  await withDirs(async (folder) => {
    const data = noise(300_000, 7);
    const cuts = [0, 70_000, 150_000, 220_000, 300_000];
    let expected: StoredStat | undefined;
    for (const order of [[0, 1, 2, 3], [3, 1, 0, 2], [0, 2, 1, 3]]) {
      await using part = await PartFile.create(
        target(folder, "big.bin", data, { expected }),
      );
      await Promise.all(
        order.map((k) =>
          part.write(cuts[k]!, data.subarray(cuts[k]!, cuts[k + 1]!))
        ),
      );
      await part.commit();
      assertEquals(await Deno.readFile(`${folder}/big.bin`), data);
      expected = await statOf("big.bin", `${folder}/big.bin`);
    }
    assertEquals(await names(folder), ["big.bin"]);
  });
});

Deno.test("PartFile writes a file several writeback steps long while flushing it", async () => {
  await withDirs(async (folder) => {
    const data = noise(WRITEBACK_STEP * 2 + 123_457, 11);
    const t = target(folder, "large.bin", data);
    await using part = await PartFile.create(t);
    let offset = 0;
    for (const chunk of t.chunks) {
      // Not awaited one by one: writes queue behind each other and the
      // background flushes, as the puller issues them.
      void part.write(offset, data.subarray(offset, offset + chunk.length));
      offset += chunk.length;
    }
    await part.commit();
    assertEquals(await Deno.readFile(`${folder}/large.bin`), data);
    assertEquals(await names(folder), ["large.bin"]);
  });
});

Deno.test("PartFile: a failure mid-write keeps the old content and cleans the .part", async () => {
  await withDirs(async (folder) => {
    await Deno.writeTextFile(`${folder}/doc.txt`, "old content");
    const data = noise(100_000, 3);
    const err = await assertRejects(async () => {
      await using part = await PartFile.create(
        target(folder, "doc.txt", data),
      );
      await part.write(0, data.subarray(0, 40_000));
      // The source of the rest fails (peer gone, disk error...).
      throw new Error("connection lost");
    });
    assertEquals(err.message, "connection lost");
    assertEquals(await Deno.readTextFile(`${folder}/doc.txt`), "old content");
    assertEquals(await names(folder), ["doc.txt"]);
  });
});

Deno.test("PartFile.commit() refuses wrong content with ContentMismatchError", async () => {
  await withDirs(async (folder) => {
    await Deno.writeTextFile(`${folder}/a.txt`, "old");
    const data = enc.encode("expected bytes");
    const wrong = enc.encode("tampered bytes");
    // Not at chunk boundaries: read back and every chunk hashed at commit.
    const p2 = await PartFile.create(target(folder, "a.txt", data));
    await p2.write(7, wrong.subarray(7));
    await p2.write(0, wrong.subarray(0, 7));
    await assertRejects(() => p2.commit(), ContentMismatchError, "other bytes");
    // Rewritten: the same.
    const p4 = await PartFile.create(target(folder, "a.txt", data));
    await p4.write(0, data);
    await p4.write(0, wrong);
    await assertRejects(() => p4.commit(), ContentMismatchError, "other bytes");
    // A missing tail.
    const p3 = await PartFile.create(target(folder, "a.txt", data));
    await p3.write(0, data.subarray(0, 5));
    await assertRejects(() => p3.commit(), ContentMismatchError, "5 bytes");
    assertEquals(await Deno.readTextFile(`${folder}/a.txt`), "old");
    assertEquals(await names(folder), ["a.txt"]);
  });
});

Deno.test("PartFile.create() refuses a chunk list that does not make the hash", async () => {
  await withDirs(async (folder) => {
    const data = noise(100_000, 5);
    await assertRejects(
      () =>
        PartFile.create(
          target(folder, "a.bin", data, { hash: blake3(data) }),
        ),
      ContentMismatchError,
      "chunk list",
    );
    const t = target(folder, "b.bin", data);
    await assertRejects(
      () => PartFile.create({ ...t, chunks: t.chunks.slice(1) }),
      ContentMismatchError,
      "chunk list",
    );
    assertEquals(await names(folder), []);
  });
});

Deno.test("PartFile.write() refuses bytes beyond the target's size", async () => {
  await withDirs(async (folder) => {
    const data = enc.encode("12345");
    await using part = await PartFile.create(target(folder, "x", data));
    await assertRejects(() => part.write(3, data), RangeError);
    await assertRejects(() => part.write(-1, data.subarray(0, 1)), RangeError);
  });
});

Deno.test("PartFile.commit() throws LocalChangeError when the target changed unseen", async () => {
  await withDirs(async (folder) => {
    const os = `${folder}/notes.txt`;
    await Deno.writeTextFile(os, "version 1");
    const expected = await statOf("notes.txt", os);
    const data = enc.encode("remote version 2");
    await using part = await PartFile.create(
      target(folder, "notes.txt", data, { expected }),
    );
    await part.write(0, data);
    await Deno.writeTextFile(os, "user edit, not yet scanned");
    const err = await assertRejects(() => part.commit(), LocalChangeError);
    assertEquals((err as LocalChangeError).path, "notes.txt");
    assertEquals(
      await Deno.readTextFile(os),
      "user edit, not yet scanned",
    );
    assertEquals(await names(folder), ["notes.txt"]);
  });
});

Deno.test("PartFile.commit() throws LocalChangeError for a file the index has not seen", async () => {
  await withDirs(async (folder) => {
    const data = enc.encode("remote");
    await using part = await PartFile.create(target(folder, "new.txt", data));
    await part.write(0, data);
    await Deno.writeTextFile(`${folder}/new.txt`, "created locally meanwhile");
    await assertRejects(() => part.commit(), LocalChangeError, "not seen");
    assertEquals(
      await Deno.readTextFile(`${folder}/new.txt`),
      "created locally meanwhile",
    );
  });
});

Deno.test("PartFile.commit() replaces a target that matches the index", async () => {
  await withDirs(async (folder) => {
    const os = `${folder}/notes.txt`;
    await Deno.writeTextFile(os, "version 1");
    const expected = await statOf("notes.txt", os);
    const data = enc.encode("version 2");
    await using part = await PartFile.create(
      target(folder, "notes.txt", data, { expected }),
    );
    await part.write(0, data);
    await part.commit();
    assertEquals(await Deno.readTextFile(os), "version 2");
  });
});

Deno.test("PartFile.create() refuses a symlinked parent: nothing is written outside", async () => {
  if (IS_WINDOWS) return;
  await withDirs(async (folder, outside) => {
    await Deno.symlink(outside, `${folder}/evil`);
    const data = enc.encode("payload");
    await assertRejects(
      () => PartFile.create(target(folder, "evil/passwd", data)),
      UnsafePathError,
      "symlink",
    );
    await assertRejects(
      () => PartFile.create(target(folder, "evil/deeper/x", data)),
      UnsafePathError,
    );
    assertEquals(await names(outside), []);
  });
});

Deno.test("PartFile.commit() refuses a parent swapped for a symlink after create", async () => {
  if (IS_WINDOWS) return;
  await withDirs(async (folder, outside) => {
    const data = enc.encode("payload");
    await using part = await PartFile.create(target(folder, "sub/f", data));
    await part.write(0, data);
    await Deno.rename(`${folder}/sub`, `${outside}/moved`);
    await Deno.symlink(outside, `${folder}/sub`);
    await assertRejects(() => part.commit(), UnsafePathError);
    assertEquals(await names(outside), ["moved"]);
    // The target was not written through the link (the moved directory
    // holds only the orphaned .part, moved there with it).
    const moved = await names(`${outside}/moved`);
    assert(moved.every((n) => PART_FILE_PATTERN.test(n)), String(moved));
  });
});

Deno.test("PartFile.create() refuses a file where a directory should be, and bad paths", async () => {
  await withDirs(async (folder) => {
    await Deno.writeTextFile(`${folder}/plain`, "x");
    const data = enc.encode("y");
    await assertRejects(
      () => PartFile.create(target(folder, "plain/child", data)),
      UnsafePathError,
      "not a directory",
    );
    for (const bad of ["../x", "/abs", "a/../b", ".dsync/index.db", ""]) {
      await assertRejects(
        () => PartFile.create(target(folder, bad, data)),
        UnsafePathError,
      );
    }
  });
});

Deno.test("partName() stays within 255 bytes and matches PART_FILE_PATTERN", () => {
  const long = "é".repeat(127); // 254 bytes
  const name = partName(long);
  assert(new TextEncoder().encode(name).length <= 255);
  assert(PART_FILE_PATTERN.test(name));
  assert(PART_FILE_PATTERN.test(partName("a.txt")));
  assert(!PART_FILE_PATTERN.test("movie.part"));
  assert(!PART_FILE_PATTERN.test(".a.txt.dsync-xyz.part"));
});

Deno.test("writeSymlink() places a link without following it, checking the entry first", async () => {
  if (IS_WINDOWS) return;
  await withDirs(async (folder, outside) => {
    const info = await writeSymlink(folder, "l/link", outside, undefined);
    assert(info.isSymlink);
    assertEquals(await Deno.readLink(`${folder}/l/link`), outside);
    await Deno.writeTextFile(`${folder}/l/file`, "mine");
    await assertRejects(
      () => writeSymlink(folder, "l/file", "elsewhere", undefined),
      LocalChangeError,
    );
    assertEquals(await Deno.readTextFile(`${folder}/l/file`), "mine");
    await assertRejects(
      () => writeSymlink(folder, "l/link/inside", "t", undefined),
      UnsafePathError,
    );
    assertEquals(await names(`${folder}/l`), ["file", "link"]);
    assertEquals(await names(outside), []);
  });
});

Deno.test("PartFile.resume() reopens a leftover, keeps its verified bytes and commits", async () => {
  await withDirs(async (folder) => {
    const data = noise(300_000, 41);
    const t = target(folder, "sub/big.bin", data);
    const first = await PartFile.create(t);
    await first.write(0, data.subarray(0, 200_000));
    assertEquals(await first.detach(), 200_000);
    assertEquals(await names(`${folder}/sub`), [
      first.partPath.split("/").pop()!,
    ]);
    const part = await PartFile.resume(t, first.partPath);
    assert(part !== undefined);
    assertEquals(part.resumable, 200_000);
    const back = await part.readBack(0, 100_000);
    assertEquals(back, data.subarray(0, 100_000));
    assertEquals(await part.readBack(250_000, 10), undefined);
    await part.keep(0, back!.length);
    await part.write(100_000, data.subarray(100_000));
    await part.commit();
    assertEquals(await Deno.readFile(`${folder}/sub/big.bin`), data);
    assertEquals(await names(`${folder}/sub`), ["big.bin"]);
  });
});

Deno.test("PartFile.resume() cuts a longer leftover and refuses one that is not beside its target", async () => {
  await withDirs(async (folder) => {
    const data = noise(10_000, 42);
    const t = target(folder, "a.bin", data);
    const first = await PartFile.create(
      target(folder, "a.bin", noise(20_000, 1)),
    );
    await first.write(0, noise(20_000, 1));
    await first.detach();
    const part = await PartFile.resume(t, first.partPath);
    assert(part !== undefined);
    assertEquals(part.resumable, 10_000);
    assertEquals((await Deno.stat(first.partPath)).size, 10_000);
    await part.write(0, data);
    await part.commit();
    assertEquals(await Deno.readFile(`${folder}/a.bin`), data);
    // A .part of another name, or in another directory, is not taken.
    await Deno.mkdir(`${folder}/d`);
    const other = `${folder}/d/${partName("a.bin")}`;
    await Deno.writeFile(other, data);
    assertEquals(await PartFile.resume(t, other), undefined);
    const wrongName = `${folder}/${partName("b.bin")}`;
    await Deno.writeFile(wrongName, data);
    assertEquals(await PartFile.resume(t, wrongName), undefined);
    if (!IS_WINDOWS) {
      const link = `${folder}/${partName("a.bin")}`;
      await Deno.symlink(other, link);
      assertEquals(await PartFile.resume(t, link), undefined);
    }
  });
});
