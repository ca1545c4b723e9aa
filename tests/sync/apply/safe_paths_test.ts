import type { StoredStat } from "../../../src/index/store.ts";
import {
  LocalChangeError,
  UnsafePathError,
} from "../../../src/sync/apply/errors.ts";
import {
  checkRelPath,
  ensureParentDirs,
  localChangeOf,
  makeDir,
  removeEmptyParents,
  removePath,
} from "../../../src/sync/apply/safe_paths.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../assert.ts";

const IS_WINDOWS = Deno.build.os === "windows";

async function withDirs(
  fn: (folder: string, outside: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "dsync-paths-" });
  await Deno.mkdir(`${root}/folder`);
  await Deno.mkdir(`${root}/outside`);
  try {
    await fn(`${root}/folder`, `${root}/outside`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function exists(os: string): Promise<boolean> {
  try {
    await Deno.lstat(os);
    return true;
  } catch {
    return false;
  }
}

async function statOf(path: string, os: string): Promise<StoredStat> {
  const info = await Deno.lstat(os);
  return {
    path,
    kind: info.isSymlink ? "symlink" : info.isDirectory ? "dir" : "file",
    size: info.size,
    mtimeMs: info.mtime!.getTime(),
    exec: ((info.mode ?? 0) & 0o100) !== 0,
    deleted: false,
    ...(info.ino === null ? {} : { inode: info.ino }),
  };
}

Deno.test("checkRelPath() refuses paths that could leave the folder or touch .dsync", () => {
  for (
    const bad of [
      "",
      "../x",
      "a/../../x",
      "/etc/passwd",
      "a\\b",
      "a//b",
      "./a",
      ".dsync/index.db",
      ".DSYNC/x",
      ".dsync",
      "a\0b",
    ]
  ) {
    assertThrows(() => checkRelPath(bad), UnsafePathError, undefined, bad);
  }
  checkRelPath("a/b/c.txt");
  checkRelPath(".dsyncignore-not/x");
  // Names only Windows refuses are refused only there.
  if (Deno.build.os === "windows") {
    assertThrows(() => checkRelPath("C:/x"), UnsafePathError);
  } else {
    checkRelPath("a:b.txt");
  }
});

Deno.test("ensureParentDirs() creates missing parents and returns the OS path", async () => {
  await withDirs(async (folder) => {
    const os = await ensureParentDirs(folder, "a/b/c/file.txt");
    assertEquals(os, `${folder}/a/b/c/file.txt`);
    assert((await Deno.lstat(`${folder}/a/b/c`)).isDirectory);
    assert(!(await exists(os)));
  });
});

Deno.test("ensureParentDirs() refuses a symlink anywhere in the parent chain", async () => {
  if (IS_WINDOWS) return;
  await withDirs(async (folder, outside) => {
    await Deno.mkdir(`${folder}/a`);
    await Deno.symlink(outside, `${folder}/a/link`);
    await assertRejects(
      () => ensureParentDirs(folder, "a/link/b/c"),
      UnsafePathError,
      "symlink",
    );
    // A symlink to a directory inside the folder is refused too.
    await Deno.symlink(`${folder}/a`, `${folder}/inner`);
    await assertRejects(
      () => ensureParentDirs(folder, "inner/x"),
      UnsafePathError,
    );
    assertEquals([...Deno.readDirSync(outside)], []);
  });
});

Deno.test("removePath() removes files, links (not their targets) and empty dirs", async () => {
  await withDirs(async (folder, outside) => {
    await Deno.writeTextFile(`${folder}/f`, "x");
    assertEquals(await removePath(folder, "f"), "removed");
    assert(!(await exists(`${folder}/f`)));
    assertEquals(await removePath(folder, "f"), "absent");
    assertEquals(await removePath(folder, "no/such/path"), "absent");
    await Deno.mkdir(`${folder}/d/e`, { recursive: true });
    assertEquals(await removePath(folder, "d"), "not-empty");
    assertEquals(await removePath(folder, "d/e"), "removed");
    assertEquals(await removePath(folder, "d"), "removed");
    if (!IS_WINDOWS) {
      await Deno.writeTextFile(`${outside}/precious`, "keep");
      await Deno.symlink(`${outside}/precious`, `${folder}/l`);
      await Deno.symlink(outside, `${folder}/ldir`);
      assertEquals(await removePath(folder, "l"), "removed");
      assertEquals(await removePath(folder, "ldir"), "removed");
      assertEquals(await Deno.readTextFile(`${outside}/precious`), "keep");
    }
  });
});

Deno.test("removePath() refuses to go through a symlinked parent", async () => {
  if (IS_WINDOWS) return;
  await withDirs(async (folder, outside) => {
    await Deno.writeTextFile(`${outside}/precious`, "keep");
    await Deno.symlink(outside, `${folder}/evil`);
    await assertRejects(
      () => removePath(folder, "evil/precious"),
      UnsafePathError,
    );
    assertEquals(await Deno.readTextFile(`${outside}/precious`), "keep");
  });
});

Deno.test("removePath() keeps an entry that differs from what the index holds", async () => {
  await withDirs(async (folder) => {
    const os = `${folder}/doc.txt`;
    await Deno.writeTextFile(os, "v1");
    const expected = await statOf("doc.txt", os);
    await Deno.writeTextFile(os, "edited locally");
    await assertRejects(
      () => removePath(folder, "doc.txt", { expected }),
      LocalChangeError,
      "size",
    );
    assertEquals(await Deno.readTextFile(os), "edited locally");
    const now = await statOf("doc.txt", os);
    assertEquals(
      await removePath(folder, "doc.txt", { expected: now }),
      "removed",
    );
  });
});

Deno.test("localChangeOf() compares kind, size, mtime, inode and exec bit", async () => {
  await withDirs(async (folder) => {
    const os = `${folder}/f`;
    await Deno.writeTextFile(os, "abc");
    const info = await Deno.lstat(os);
    const stat = await statOf("f", os);
    assertEquals(localChangeOf(info, stat), undefined);
    assertEquals(localChangeOf(undefined, stat), undefined); // gone: nothing to lose
    assertEquals(localChangeOf(undefined, undefined), undefined);
    assert(localChangeOf(info, undefined)?.includes("not seen"));
    assert(
      localChangeOf(info, { ...stat, deleted: true })?.includes("not seen"),
    );
    assert(localChangeOf(info, { ...stat, size: 4 })?.includes("size"));
    assert(localChangeOf(info, { ...stat, mtimeMs: 1 })?.includes("mtime"));
    assert(localChangeOf(info, { ...stat, kind: "dir" })?.includes("dir"));
    if (info.ino !== null) {
      assert(
        localChangeOf(info, { ...stat, inode: info.ino + 1 })?.includes(
          "inode",
        ),
      );
    }
    if (!IS_WINDOWS) {
      assert(localChangeOf(info, { ...stat, exec: true })?.includes("exec"));
    }
  });
});

Deno.test("removeEmptyParents() removes empty ancestors up to a non-empty one", async () => {
  await withDirs(async (folder) => {
    await Deno.mkdir(`${folder}/a/b/c`, { recursive: true });
    await Deno.writeTextFile(`${folder}/a/keep`, "x");
    const removed = await removeEmptyParents(folder, "a/b/c/gone.txt");
    assertEquals(removed, ["a/b/c", "a/b"]);
    assert(await exists(`${folder}/a/keep`));
    assertEquals(await removeEmptyParents(folder, "top.txt"), []);
    assert(await exists(folder));
  });
});

Deno.test("makeDir() creates a directory once and refuses a file in the way", async () => {
  await withDirs(async (folder) => {
    assertEquals(await makeDir(folder, "x/y"), true);
    assertEquals(await makeDir(folder, "x/y"), false);
    await Deno.writeTextFile(`${folder}/file`, "x");
    await assertRejects(
      () => makeDir(folder, "file"),
      Deno.errors.AlreadyExists,
    );
  });
});
