import { waitFor } from "../_wait.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { blake3 } from "../../src/index/hash.ts";
import type { FileDigest } from "../../src/index/file_digest.ts";
import { ensureIgnoreFile, IgnoreRules } from "../../src/index/ignore_rules.ts";
import { FolderUnavailableError, Scanner } from "../../src/index/scanner.ts";
import { IndexStore } from "../../src/index/store.ts";
import {
  checkNotEmptied,
  type DirId,
  emptiedFolderProblem,
  type EntrySighting,
  type FolderBaseline,
  FolderGuard,
  type FolderSighting,
  judgeFolder,
  type LockSighting,
  sightFolder,
} from "../../src/node/folder_guard.ts";
import { FolderLock } from "../../src/node/folder_lock.ts";

const ROOT: DirId = { dev: 2049, ino: 100 };
const STATE: DirId = { dev: 2049, ino: 101 };
const PID = 4242;
const WITH_IDS: FolderBaseline = { root: ROOT, state: STATE, pid: PID };
const NO_IDS: FolderBaseline = { root: undefined, state: undefined, pid: PID };

const dir = (id?: DirId): EntrySighting => ({ kind: "dir", id });
const MISSING: EntrySighting = { kind: "missing" };

function sighting(
  root: EntrySighting,
  state: EntrySighting,
  lock?: LockSighting,
): FolderSighting {
  return { root, state, ...(lock === undefined ? {} : { lock }) };
}

Deno.test("judgeFolder() keeps the folder it started on and names what replaced it", () => {
  const table: [string, FolderBaseline, FolderSighting, string | null][] = [
    ["same dirs", WITH_IDS, sighting(dir(ROOT), dir(STATE)), null],
    [
      "folder moved away",
      WITH_IDS,
      sighting(MISSING, MISSING),
      "the folder no longer exists",
    ],
    [
      "folder is a file now",
      WITH_IDS,
      sighting({ kind: "not-dir" }, MISSING),
      "the folder is no longer a directory",
    ],
    [
      "folder unreadable (dead mount)",
      WITH_IDS,
      sighting({ kind: "error", message: "Input/output error" }, MISSING),
      "the folder cannot be read (Input/output error)",
    ],
    [
      "unmounted: the mount point below",
      WITH_IDS,
      sighting(dir({ dev: 2050, ino: 2 }), MISSING),
      "the folder is another directory now (device 2050, inode 2; was device 2049, inode 100)",
    ],
    [
      "replaced by a copy with .dsync",
      WITH_IDS,
      sighting(dir({ dev: 2049, ino: 300 }), dir({ dev: 2049, ino: 301 })),
      "the folder is another directory now (device 2049, inode 300; was device 2049, inode 100)",
    ],
    [
      ".dsync removed",
      WITH_IDS,
      sighting(dir(ROOT), MISSING),
      ".dsync no longer exists",
    ],
    [
      ".dsync recreated",
      WITH_IDS,
      sighting(dir(ROOT), dir({ dev: 2049, ino: 999 })),
      ".dsync is another directory now (device 2049, inode 999; was device 2049, inode 101)",
    ],
    [
      ".dsync a file",
      WITH_IDS,
      sighting(dir(ROOT), { kind: "not-dir" }),
      ".dsync is no longer a directory",
    ],
    ["ids: no lock looked at", WITH_IDS, sighting(dir(ROOT), dir(STATE)), null],
    ["no ids, lock ours", NO_IDS, sighting(dir(), dir(), PID), null],
    [
      "no ids, lock unreadable (locked by us)",
      NO_IDS,
      sighting(dir(), dir(), "unreadable"),
      null,
    ],
    [
      "no ids, lock gone",
      NO_IDS,
      sighting(dir(), dir(), "missing"),
      ".dsync/lock no longer exists",
    ],
    [
      "no ids, another pid",
      NO_IDS,
      sighting(dir(), dir(), 77),
      ".dsync/lock holds pid 77, not ours (4242)",
    ],
    [
      "no ids, no pid",
      NO_IDS,
      sighting(dir(), dir(), "no-pid"),
      ".dsync/lock holds no pid",
    ],
    [
      "no ids, folder gone",
      NO_IDS,
      sighting(MISSING, MISSING, "missing"),
      "the folder no longer exists",
    ],
  ];
  for (const [name, baseline, seen, expected] of table) {
    const verdict = judgeFolder(baseline, seen);
    assertEquals(verdict.intact ? null : verdict.seen, expected, name);
  }
});

async function withFolder(
  fn: (folder: string, parent: string) => Promise<void>,
): Promise<void> {
  const parent = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "dsync-guard-" }),
  );
  const folder = `${parent}/folder`;
  await Deno.mkdir(folder);
  const lock = await FolderLock.acquire(folder);
  try {
    await fn(folder, parent);
  } finally {
    lock.release();
    await Deno.remove(parent, { recursive: true });
  }
}

Deno.test("FolderGuard.check() trips once the folder is moved away, and stays tripped", async () => {
  await withFolder((folder, parent) => {
    const guard = FolderGuard.capture(folder);
    guard.check();
    assertEquals(guard.signal.aborted, false);
    Deno.renameSync(folder, `${parent}/folder.old`);
    const error = assertThrows(() => guard.check(), FolderUnavailableError);
    assertEquals(
      error.message,
      `Folder ${folder} is gone or was replaced (unmounted or moved?): the folder no longer exists; stopped without sending any deletions`,
    );
    assertEquals(guard.signal.aborted, true);
    assertEquals(guard.error, error);
    // Back in place: too late, the node is already stopping.
    Deno.renameSync(`${parent}/folder.old`, folder);
    assertThrows(() => guard.check(), FolderUnavailableError);
    return Promise.resolve();
  });
});

Deno.test("FolderGuard.check() trips when the folder or .dsync is replaced by a new directory", async () => {
  for (const replaced of ["folder", ".dsync"]) {
    await withFolder(async (folder, parent) => {
      const guard = FolderGuard.capture(folder);
      if (replaced === "folder") {
        // An empty directory where the folder was; even with a .dsync in it.
        await Deno.rename(folder, `${parent}/away`);
        await Deno.mkdir(`${folder}/.dsync`, { recursive: true });
      } else {
        await Deno.rename(`${folder}/.dsync`, `${parent}/dsync-away`);
        await Deno.mkdir(`${folder}/.dsync`);
      }
      const error = assertThrows(() => guard.check(), FolderUnavailableError);
      const name = replaced === "folder" ? "the folder" : ".dsync";
      assert(
        error.message.includes(`: ${name} is another directory now`),
        error.message,
      );
    });
  }
});

Deno.test("FolderGuard.check() without inode numbers trusts the lock file's pid", async () => {
  await withFolder(async (folder) => {
    const noIds = (f: string, withLock: boolean): FolderSighting => {
      const seen = sightFolder(f, withLock);
      const strip = (e: EntrySighting): EntrySighting =>
        e.kind === "dir" ? { kind: "dir", id: undefined } : e;
      return { ...seen, root: strip(seen.root), state: strip(seen.state) };
    };
    const guard = FolderGuard.capture(folder, { sight: noIds });
    guard.check();
    await Deno.writeTextFile(`${folder}/.dsync/lock`, "1\n");
    const error = assertThrows(() => guard.check(), FolderUnavailableError);
    assert(
      error.message.includes(".dsync/lock holds pid 1, not ours"),
      error.message,
    );
  });
});

Deno.test("FolderGuard.capture() refuses a folder without .dsync", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-guard-" });
  try {
    const error = assertThrows(
      () => FolderGuard.capture(folder),
      FolderUnavailableError,
    );
    assert(error.message.includes(".dsync no longer exists"), error.message);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("FolderGuard.watch() trips by itself between scans", async () => {
  await withFolder(async (folder, parent) => {
    const guard = FolderGuard.capture(folder);
    guard.watch(10);
    try {
      await Deno.rename(folder, `${parent}/away`);
      await waitFor(() => guard.signal.aborted, "the guard to trip", 5000);
      assertEquals(guard.signal.aborted, true);
      assert(guard.error instanceof FolderUnavailableError);
    } finally {
      guard.close();
    }
  });
});

/** Whole-file hashes; runs `onHash` after reading a file. */
function hasherWith(onHash: (absPath: string) => void) {
  return {
    hashFile(absPath: string): Promise<FileDigest> {
      const data = Deno.readFileSync(absPath);
      onHash(absPath);
      const hash = blake3(data);
      return Promise.resolve({
        size: data.length,
        hash,
        chunks: [{ offset: 0, length: data.length, hash }],
      });
    },
  };
}

Deno.test("Scanner with a FolderGuard records no deletion from a folder that vanished mid-scan", async () => {
  await withFolder(async (folder, parent) => {
    const files = ["sub/a.txt", "sub/b.txt", "other/c.txt", "top.txt"];
    await Deno.mkdir(`${folder}/sub`);
    await Deno.mkdir(`${folder}/other`);
    for (const name of files) {
      await Deno.writeTextFile(`${folder}/${name}`, name);
    }
    await ensureIgnoreFile(folder);
    const store = IndexStore.open(folder);
    try {
      const guard = FolderGuard.capture(folder);
      let moved = false;
      const scanner = new Scanner({
        folder,
        store,
        // The folder goes while the scan runs, past the check at its start:
        // the walk then finds `sub` and `other` gone, and only the check
        // before the commit stands between that and tombstones.
        hasher: hasherWith((absPath) => {
          if (!absPath.endsWith("/new.txt") || moved) return;
          moved = true;
          Deno.renameSync(folder, `${parent}/folder.old`);
        }),
        ignore: await IgnoreRules.load(folder, []),
        now: () => Date.now() + 3_600_000,
        checkFolder: () => guard.check(),
      });
      await scanner.scan();
      const sequence = store.maxSequence;
      assert(sequence > 0);
      await Deno.writeTextFile(`${folder}/new.txt`, "new");
      await assertRejects(() => scanner.scan(), FolderUnavailableError);
      assert(moved);
      assertEquals(guard.signal.aborted, true);
      await assertRejects(
        () => scanner.scanPaths(["sub"]),
        FolderUnavailableError,
      );
      // The index moved with the folder; its open handle still reads it.
      assertEquals(store.maxSequence, sequence);
      for (const path of [...files, "sub", "other"]) {
        assertEquals(store.get(path)?.deleted, false, path);
      }
      Deno.renameSync(`${parent}/folder.old`, folder);
    } finally {
      store.close();
    }
  });
});

Deno.test("emptiedFolderProblem() refuses an empty folder whose index (kept elsewhere) holds entries", () => {
  const table: [string[], number, boolean][] = [
    [[], 0, false], // a new folder
    [[], 3, true],
    [[".dsyncignore"], 3, true], // dsync's own file does not count
    [["a.txt"], 3, false],
    [[".dsyncignore", "a.txt"], 500, false],
  ];
  for (const [names, indexed, refused] of table) {
    const problem = emptiedFolderProblem("/mnt/data", names, indexed);
    assertEquals(problem !== undefined, refused, `${names} ${indexed}`);
  }
  assertEquals(
    emptiedFolderProblem("/mnt/data", [], 1),
    "Folder /mnt/data is empty but its index holds 1 entry: is its disk mounted? Stopped without sending any deletions (if you emptied it on purpose, put any file in it and start dsync again)",
  );
});

Deno.test("checkNotEmptied() throws FolderUnavailableError for an empty folder with an index", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-empty-" });
  try {
    await checkNotEmptied(dir, 0);
    const error = await checkNotEmptied(dir, 7).then(() => undefined, (e) => e);
    assert(error instanceof FolderUnavailableError, String(error));
    assert(/holds 7 entries/.test(error.message), error.message);
    await Deno.writeTextFile(`${dir}/b.txt`, "b");
    await checkNotEmptied(dir, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
