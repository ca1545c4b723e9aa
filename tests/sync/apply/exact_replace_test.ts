/**
 * `replaceExactly` and `removeExactly` act on exactly the entry the index
 * holds: a local write that lands before or during the step survives it
 * (the `between` seam plays a program saving in the window between moving
 * the old file aside and placing the new one).
 * @module
 */
import { assertEquals, assertRejects } from "../../assert.ts";
import type { StoredStat } from "../../../src/index/store.ts";
import { LocalChangeError } from "../../../src/sync/apply/errors.ts";
import {
  type ExactTarget,
  removeExactly,
  replaceExactly,
} from "../../../src/sync/apply/exact_replace.ts";

const text = new TextEncoder();
const read = (p: string) => new TextDecoder().decode(Deno.readFileSync(p));

function statOf(path: string, rel: string): StoredStat {
  const info = Deno.lstatSync(path);
  return {
    path: rel,
    kind: "file",
    size: info.size,
    mtimeMs: info.mtime!.getTime(),
    exec: ((info.mode ?? 0) & 0o100) !== 0,
    deleted: false,
    ...(info.ino === null ? {} : { inode: info.ino }),
  };
}

async function withDir(fn: (dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "exact-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function target(dir: string, expected: StoredStat | undefined): ExactTarget {
  return {
    relPath: "a.txt",
    osPath: `${dir}/a.txt`,
    asideOsPath: `${dir}/.a.txt.dsync-00000000000000aa.part`,
    expected,
  };
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("replaceExactly puts the new file in place of the one the index holds", () =>
  withDir((dir) => {
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old"));
    const expected = statOf(`${dir}/a.txt`, "a.txt");
    Deno.writeFileSync(`${dir}/new.part`, text.encode("peer's"));
    replaceExactly(target(dir, expected), `${dir}/new.part`);
    assertEquals(read(`${dir}/a.txt`), "peer's");
    assertEquals(names(dir), ["a.txt"]);
  }));

Deno.test("replaceExactly leaves a file the index has not seen", async () => {
  await withDir(async (dir) => {
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old"));
    const expected = statOf(`${dir}/a.txt`, "a.txt");
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("user's newer"));
    Deno.writeFileSync(`${dir}/new.part`, text.encode("peer's"));
    await assertRejects(
      () =>
        Promise.resolve().then(() =>
          replaceExactly(target(dir, expected), `${dir}/new.part`)
        ),
      LocalChangeError,
    );
    assertEquals(read(`${dir}/a.txt`), "user's newer");
    assertEquals(names(dir), ["a.txt", "new.part"]);
  });
});

Deno.test("replaceExactly never replaces a file saved while it works", async () => {
  await withDir(async (dir) => {
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old"));
    const expected = statOf(`${dir}/a.txt`, "a.txt");
    Deno.writeFileSync(`${dir}/new.part`, text.encode("peer's"));
    await assertRejects(
      () =>
        Promise.resolve().then(() =>
          replaceExactly({
            ...target(dir, expected),
            // An editor renames its saved temp file into place right now.
            between: () => {
              Deno.writeFileSync(`${dir}/tmp`, text.encode("user's save"));
              Deno.renameSync(`${dir}/tmp`, `${dir}/a.txt`);
            },
          }, `${dir}/new.part`)
        ),
      LocalChangeError,
    );
    assertEquals(read(`${dir}/a.txt`), "user's save");
    // The old file (what the peer's change replaced) is gone, the part is
    // the caller's to remove.
    assertEquals(names(dir), ["a.txt", "new.part"]);
  });
});

Deno.test("replaceExactly where nothing should be never replaces what appeared", async () => {
  await withDir(async (dir) => {
    Deno.writeFileSync(`${dir}/new.part`, text.encode("peer's"));
    await assertRejects(
      () =>
        Promise.resolve().then(() =>
          replaceExactly({
            ...target(dir, undefined),
            between: () =>
              Deno.writeFileSync(`${dir}/a.txt`, text.encode("user's")),
          }, `${dir}/new.part`)
        ),
      LocalChangeError,
    );
    assertEquals(read(`${dir}/a.txt`), "user's");
  });
});

Deno.test("replaceExactly hands the old file to takeOld when asked", () =>
  withDir((dir) => {
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old"));
    const expected = statOf(`${dir}/a.txt`, "a.txt");
    Deno.writeFileSync(`${dir}/new.part`, text.encode("peer's"));
    replaceExactly({
      ...target(dir, expected),
      takeOld: (aside) => Deno.renameSync(aside, `${dir}/kept`),
    }, `${dir}/new.part`);
    assertEquals(read(`${dir}/kept`), "old");
    assertEquals(read(`${dir}/a.txt`), "peer's");
  }));

Deno.test("removeExactly removes the file the index holds, never a save that lands meanwhile", () =>
  withDir((dir) => {
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old"));
    const expected = statOf(`${dir}/a.txt`, "a.txt");
    assertEquals(removeExactly(target(dir, expected)), true);
    assertEquals(names(dir), []);
    Deno.writeFileSync(`${dir}/a.txt`, text.encode("old again"));
    const again = statOf(`${dir}/a.txt`, "a.txt");
    removeExactly({
      ...target(dir, again),
      between: () => Deno.writeFileSync(`${dir}/a.txt`, text.encode("save")),
    });
    assertEquals(read(`${dir}/a.txt`), "save");
  }));
