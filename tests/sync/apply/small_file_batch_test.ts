import { assert, assertEquals } from "../../assert.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import type { StoredStat } from "../../../src/index/store.ts";
import {
  type SmallFile,
  writeSmallFiles,
} from "../../../src/sync/apply/small_file_batch.ts";

const enc = new TextEncoder();
const MTIME = 1_700_000_000_000n * 1_000_000n;

function small(path: string, text: string, exec = false): SmallFile {
  const data = enc.encode(text);
  const digest = digestBytes(data);
  return {
    path,
    data,
    hash: digest.hash,
    chunks: digest.chunks,
    mtimeNs: MTIME,
    exec,
    expected: undefined,
  };
}

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function names(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      out.push(p);
      if (e.isDirectory) walk(`${d}/${e.name}`, p);
    }
  };
  walk(dir, "");
  return out.sort();
}

Deno.test("writeSmallFiles() puts verified files in place with mtime and exec bit", () =>
  withFolder(async (dir) => {
    const outcomes = await writeSmallFiles(dir, [
      small("a.txt", "alpha"),
      small("deep/er/b.sh", "#!/bin/sh\n", true),
      small("empty", ""),
    ]);
    assert(outcomes.every((o) => o.ok));
    assertEquals(names(dir), [
      "a.txt",
      "deep",
      "deep/er",
      "deep/er/b.sh",
      "empty",
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/a.txt`), "alpha");
    const info = await Deno.lstat(`${dir}/deep/er/b.sh`);
    assertEquals(info.mtime?.getTime(), 1_700_000_000_000);
    if (Deno.build.os !== "windows") assert(((info.mode ?? 0) & 0o100) !== 0);
    const first = outcomes[0]!;
    assert(
      first.ok && first.info.ino === (await Deno.lstat(`${dir}/a.txt`)).ino,
    );
  }));

Deno.test("writeSmallFiles() refuses content that does not match its hash", () =>
  withFolder(async (dir) => {
    const bad = { ...small("x", "good"), data: enc.encode("evil") };
    const [outcome] = await writeSmallFiles(dir, [bad]);
    assert(!outcome!.ok && outcome!.error.name === "ContentMismatchError");
    assertEquals(names(dir), []);
  }));

Deno.test("writeSmallFiles() with chunks verified by the caller still checks their lengths and the file hash", () =>
  withFolder(async (dir) => {
    const good = { ...small("a", "alpha"), chunksVerified: true };
    const otherHash = {
      ...small("b", "beta"),
      hash: small("x", "gamma").hash,
      chunksVerified: true,
    };
    const short = {
      ...small("c", "delta"),
      data: enc.encode("del"),
      chunksVerified: true,
    };
    const outcomes = await writeSmallFiles(dir, [good, otherHash, short]);
    assertEquals(outcomes.map((o) => o.ok), [true, false, false]);
    for (const o of outcomes.slice(1)) {
      assert(!o.ok && o.error.name === "ContentMismatchError");
    }
    assertEquals(names(dir), ["a"]);
    assertEquals(await Deno.readTextFile(`${dir}/a`), "alpha");
  }));

Deno.test("writeSmallFiles() never replaces an edit the index has not seen", () =>
  withFolder(async (dir) => {
    await Deno.writeTextFile(`${dir}/mine.txt`, "user edit");
    const info = await Deno.lstat(`${dir}/mine.txt`);
    const stale: StoredStat = {
      path: "mine.txt",
      kind: "file",
      size: 3,
      mtimeMs: 5,
      exec: false,
      deleted: false,
    };
    const outcomes = await writeSmallFiles(dir, [
      { ...small("mine.txt", "peer"), expected: stale },
      small("new.txt", "fresh"), // nothing expected, nothing there: fine
      small("unseen.txt", "peer"),
    ]);
    assertEquals(outcomes.map((o) => o.ok), [false, true, true]);
    assert(!outcomes[0]!.ok && outcomes[0]!.error.name === "LocalChangeError");
    assertEquals(await Deno.readTextFile(`${dir}/mine.txt`), "user edit");
    assertEquals((await Deno.lstat(`${dir}/mine.txt`)).ino, info.ino);
    assertEquals(names(dir), ["mine.txt", "new.txt", "unseen.txt"]);
    // The same holds for a file the index never saw.
    const [again] = await writeSmallFiles(dir, [small("new.txt", "other")]);
    assert(!again!.ok && again!.error.name === "LocalChangeError");
  }));

Deno.test("writeSmallFiles() refuses to write through a symlinked parent", () =>
  withFolder(async (dir) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.symlink(outside, `${dir}/link`);
      const [outcome] = await writeSmallFiles(dir, [small("link/x", "x")]);
      assert(!outcome!.ok && outcome!.error.name === "UnsafePathError");
      assertEquals([...Deno.readDirSync(outside)].length, 0);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  }));

Deno.test("writeSmallFiles() leaves no .part behind when placing fails", () =>
  withFolder(async (dir) => {
    await assertRejectsLike(() =>
      writeSmallFiles(dir, [small("a", "a")], () => {
        throw new Error("lock failed");
      })
    );
    assertEquals(names(dir), []);
  }));

async function assertRejectsLike(fn: () => Promise<unknown>): Promise<void> {
  let threw = false;
  try {
    await fn();
  } catch {
    threw = true;
  }
  assert(threw, "expected a rejection");
}
