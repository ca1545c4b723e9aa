import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  RestoreError,
  restorePath,
  restoreVersion,
  VersionStore,
} from "../../src/versions/mod.ts";

async function withFolder(
  fn: (
    store: VersionStore,
    folder: string,
    clock: { now: number },
  ) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "dsync_versions_" });
  const clock = { now: Date.UTC(2026, 11, 7, 3, 0, 0) };
  try {
    await fn(
      new VersionStore({
        folder,
        root: `${folder}/.dsync/versions`,
        now: () => clock.now,
      }),
      folder,
      clock,
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("VersionStore.keep() moves or links the file (same inode) under its stamped name", async () => {
  await withFolder(async (store, folder) => {
    await Deno.mkdir(`${folder}/notes`);
    await Deno.writeTextFile(`${folder}/notes/plan.md`, "old plan");
    const inode = (await Deno.lstat(`${folder}/notes/plan.md`)).ino;
    const name = await store.keep("notes/plan.md", "move");
    assertEquals(name, "notes/plan.md~20261207-030000");
    const kept = `${folder}/.dsync/versions/${name}`;
    assertEquals(await Deno.readTextFile(kept), "old plan");
    assertEquals((await Deno.lstat(kept)).ino, inode);
    await assertRejects(() => Deno.lstat(`${folder}/notes/plan.md`));
    // A second version in the same second does not overwrite the first.
    await Deno.writeTextFile(`${folder}/notes/plan.md`, "newer plan");
    // Kept for a replace: linked, the file stays in place until replaced.
    assertEquals(store.keepSync("notes/plan.md", "link"), `${name}-2`);
    assertEquals(
      await Deno.readTextFile(`${folder}/notes/plan.md`),
      "newer plan",
    );
    assertEquals(
      (await Deno.lstat(`${folder}/.dsync/versions/${name}-2`)).ino,
      (await Deno.lstat(`${folder}/notes/plan.md`)).ino,
    );
    await Deno.remove(`${folder}/notes/plan.md`);
    const list = await store.list("notes/plan.md");
    assertEquals(list.map((v) => [v.name, v.size]), [
      [`${name}-2`, 10],
      [name, 8],
    ]);
  });
});

Deno.test("VersionStore.prune() deletes old versions and empty folders, keeps the rest", async () => {
  await withFolder(async (store, folder, clock) => {
    await Deno.mkdir(`${folder}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${folder}/a/b/old.txt`, "old");
    await store.keep("a/b/old.txt", "move");
    clock.now += 40 * 24 * 3600 * 1000;
    await Deno.writeTextFile(`${folder}/new.txt`, "new");
    await store.keep("new.txt", "move");
    const result = await store.prune({ keepDays: 30, maxBytes: Infinity });
    assertEquals(result, { removed: 1, bytes: 3 });
    assertEquals((await store.list()).map((v) => v.path), ["new.txt"]);
    await assertRejects(() => Deno.lstat(`${folder}/.dsync/versions/a`));
  });
});

Deno.test("restoreVersion() puts the newest version back and keeps the current file as a version", async () => {
  await withFolder(async (store, folder, clock) => {
    await Deno.writeTextFile(`${folder}/x.txt`, "one");
    await store.keep("x.txt", "move");
    clock.now += 60_000;
    await Deno.writeTextFile(`${folder}/x.txt`, "two");
    await store.keep("x.txt", "move");
    clock.now += 60_000;
    await Deno.writeTextFile(`${folder}/x.txt`, "three");

    const first = await restoreVersion(store, "x.txt");
    assertEquals(await Deno.readTextFile(`${folder}/x.txt`), "two");
    assertEquals(first.kept, "x.txt~20261207-030200");

    // --at picks the newest version at or before the time.
    const second = await restoreVersion(
      store,
      "./x.txt",
      Date.UTC(2026, 11, 7, 3, 0, 30),
    );
    assertEquals(await Deno.readTextFile(`${folder}/x.txt`), "one");
    assertEquals(second.restored.at, Date.UTC(2026, 11, 7, 3, 0, 0));
    const left = await store.list("x.txt");
    assertEquals(left.length, 2, "three and two are versions now");
  });
});

Deno.test("restoreVersion() recreates missing parents and refuses bad paths and missing versions", async () => {
  await withFolder(async (store, folder) => {
    await Deno.mkdir(`${folder}/d/e`, { recursive: true });
    await Deno.writeTextFile(`${folder}/d/e/f.txt`, "f");
    await store.keep("d/e/f.txt", "move");
    await Deno.remove(`${folder}/d`, { recursive: true });
    const outcome = await restoreVersion(store, "d/e/f.txt");
    assert(outcome.kept === undefined);
    assertEquals(await Deno.readTextFile(`${folder}/d/e/f.txt`), "f");
    await assertRejects(() => restoreVersion(store, "d/e/f.txt"), RestoreError);
    await assertRejects(
      () => restoreVersion(store, "nothing.txt"),
      RestoreError,
    );
    for (const bad of ["../x", "/etc/passwd", ".dsync/index.db", ""]) {
      let threw = false;
      try {
        restorePath(bad);
      } catch (error) {
        threw = error instanceof RestoreError;
      }
      assert(threw, bad);
    }
  });
});
