import { waitFor } from "../_wait.ts";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
} from "../assert.ts";
import type { ChunkInfo, FileDigest } from "../../src/index/file_digest.ts";
import type { FileRecord } from "../../src/index/file_record.ts";
import { blake3 } from "../../src/index/hash.ts";
import { ensureIgnoreFile, IgnoreRules } from "../../src/index/ignore_rules.ts";
import {
  type FileHasher,
  FolderUnavailableError,
  Scanner,
  type ScannerOptions,
} from "../../src/index/scanner.ts";
import {
  seenStatOf,
  type SmallFileOutcome,
} from "../../src/index/small_file_batch.ts";
import { IndexStore } from "../../src/index/store.ts";
import {
  counterOf,
  MAX_VERSION_COUNTER,
  overflowReplica,
  versionOf,
} from "../../src/index/version_vector.ts";

/**
 * Hashes whole files (one chunk per 64 KiB) and remembers what it hashed.
 * When batching, files under 64 KiB come in batches, as to a `HasherPool`:
 * each is `lstat`ed, read (after the `before` hook) and `lstat`ed again.
 */
class FakeHasher implements FileHasher {
  readonly hashed: string[] = [];
  /** Paths (suffix match) that fail as if unreadable. */
  readonly denied = new Set<string>();
  /** Runs once before reading a path (suffix match), e.g. to modify it. */
  readonly before = new Map<string, () => void>();
  readonly smallFileLimit?: number;
  readonly hashSmallFiles?: (
    paths: readonly string[],
  ) => Promise<SmallFileOutcome[]>;
  /** Batches asked for, by their number of files. */
  readonly batches: number[] = [];
  /** The previous chunk lists given with `hashFile`, by path. */
  readonly previous = new Map<string, readonly ChunkInfo[] | undefined>();

  constructor(batching = false) {
    if (!batching) return;
    this.smallFileLimit = 65_536;
    this.hashSmallFiles = (paths) => {
      this.batches.push(paths.length);
      return Promise.resolve(paths.map((p) => this.#small(p)));
    };
  }

  hashFile(
    absPath: string,
    previous?: readonly ChunkInfo[],
  ): Promise<FileDigest> {
    this.previous.set(absPath, previous);
    this.#runHooks(absPath);
    try {
      return Promise.resolve(this.#digest(absPath));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #small(absPath: string): SmallFileOutcome {
    try {
      const before = Deno.lstatSync(absPath);
      if (!before.isFile || before.size >= this.smallFileLimit!) {
        return { kind: "not-small", before: seenStatOf(before) };
      }
      this.#runHooks(absPath);
      const digest = this.#digest(absPath);
      const after = Deno.lstatSync(absPath);
      return {
        kind: "digest",
        digest,
        before: seenStatOf(before),
        after: seenStatOf(after),
      };
    } catch (err) {
      return { kind: "error", error: err as Error };
    }
  }

  #runHooks(absPath: string): void {
    for (const [suffix, fn] of this.before) {
      if (absPath.endsWith(suffix)) {
        this.before.delete(suffix);
        fn();
      }
    }
  }

  #digest(absPath: string): FileDigest {
    for (const suffix of this.denied) {
      if (absPath.endsWith(suffix)) {
        throw new Deno.errors.PermissionDenied(
          `Permission denied: ${absPath}`,
        );
      }
    }
    this.hashed.push(absPath);
    const data = Deno.readFileSync(absPath);
    const chunks = [];
    for (let offset = 0; offset < data.length; offset += 65_536) {
      const piece = data.subarray(offset, offset + 65_536);
      chunks.push({ offset, length: piece.length, hash: blake3(piece) });
    }
    return { size: data.length, hash: blake3(data), chunks };
  }
}

interface Fixture {
  readonly dir: string;
  readonly store: IndexStore;
  readonly hasher: FakeHasher;
  readonly scanner: Scanner;
  /** Another scanner of the same folder, index and hasher, with `options`. */
  scannerWith(options: Partial<ScannerOptions>): Scanner;
  get(path: string): FileRecord | undefined;
  hashedNames(): string[];
}

const LATER = () => Date.now() + 3_600_000;

/** Whether `withScanner` batches by default: set by `testBothWays`. */
let batchingByDefault = false;

/**
 * Registers `body` twice: with files hashed one by one, and with small
 * files in batches. Tests of a file run one at a time, so the module-level
 * switch holds for the whole of each run.
 */
function testBothWays(name: string, body: () => Promise<void>): void {
  for (const batching of [false, true]) {
    Deno.test(`${name}${batching ? " (small files in batches)" : ""}`, async () => {
      batchingByDefault = batching;
      try {
        await body();
      } finally {
        batchingByDefault = false;
      }
    });
  }
}

async function withScanner(
  fn: (f: Fixture) => Promise<void>,
  options: {
    extra?: string[];
    now?: () => number;
    defaults?: boolean;
    /** Small files go to the hasher in batches (as with a `HasherPool`). */
    batching?: boolean;
  } = {},
): Promise<void> {
  const dir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "dsync-scan-" }),
  );
  const store = IndexStore.open(dir);
  try {
    if (options.defaults !== false) await ensureIgnoreFile(dir);
    const hasher = new FakeHasher(options.batching ?? batchingByDefault);
    const ignore = await IgnoreRules.load(dir, options.extra ?? []);
    // Files made by a test are seconds old at most; a clock an hour ahead
    // keeps the racy-mtime rehash out of tests that are not about it.
    const scannerWith = (more: Partial<ScannerOptions>) =>
      new Scanner({
        folder: dir,
        store,
        hasher,
        ignore,
        now: options.now ?? LATER,
        ...more,
      });
    await fn({
      dir,
      store,
      hasher,
      scanner: scannerWith({}),
      scannerWith,
      get: (path) => store.get(path),
      hashedNames: () =>
        hasher.hashed.splice(0).map((p) => p.slice(dir.length + 1)).sort(),
    });
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function captureWarnings(
  fn: (records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record: LogRecord) => records.push(record) },
    loggers: [
      { category: ["dsync"], lowestLevel: "warning", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
    reset: true,
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

function write(dir: string, rel: string, text: string): void {
  const path = `${dir}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

function paths(
  store: IndexStore,
  filter: (r: FileRecord) => boolean = (r) => !r.deleted,
): string[] {
  return store.since(0, 1_000_000).filter(filter).map((r) => r.path).sort();
}

testBothWays(
  "Scanner.scan() indexes files, dirs and symlinks without following links",
  async () => {
    await withScanner(async ({ dir, store, scanner, get, hashedNames }) => {
      write(dir, "a.txt", "hello");
      write(dir, "sub/b.bin", "x".repeat(200_000));
      write(dir, "sub/deep/c.txt", "c");
      Deno.chmodSync(`${dir}/sub/deep/c.txt`, 0o755);
      Deno.symlinkSync("sub", `${dir}/link-to-dir`);
      Deno.symlinkSync("/etc", `${dir}/link-outside`);
      Deno.symlinkSync("nowhere", `${dir}/dangling`);

      const summary = await scanner.scan();

      assertEquals(paths(store), [
        "a.txt",
        "dangling",
        "link-outside",
        "link-to-dir",
        "sub",
        "sub/b.bin",
        "sub/deep",
        "sub/deep/c.txt",
      ]);
      assertEquals(hashedNames(), ["a.txt", "sub/b.bin", "sub/deep/c.txt"]);
      assertStrictEquals(summary.files, 3);
      assertStrictEquals(summary.dirs, 2);
      assertStrictEquals(summary.symlinks, 3);
      assertStrictEquals(summary.bytes, 200_006);
      assertStrictEquals(summary.hashedFiles, 3);
      assertStrictEquals(summary.hashedBytes, 200_006);
      assertStrictEquals(summary.errors, 0);
      assertStrictEquals(summary.deleted, 0);

      const a = get("a.txt")!;
      assertStrictEquals(a.kind, "file");
      assertStrictEquals(a.size, 5);
      assertEquals(a.hash, blake3(new TextEncoder().encode("hello")));
      assertStrictEquals(a.exec, false);
      assertStrictEquals(counterOf(a.version, store.replicaId), 1);
      assertStrictEquals(
        a.mtimeNs,
        BigInt(Deno.statSync(`${dir}/a.txt`).mtime!.getTime()) * 1_000_000n,
      );
      assertStrictEquals(a.inode, Deno.statSync(`${dir}/a.txt`).ino);
      assertStrictEquals(get("sub/b.bin")!.chunks.length, 4);
      assertStrictEquals(get("sub/deep/c.txt")!.exec, true);
      assertStrictEquals(get("sub")!.kind, "dir");
      const link = get("link-to-dir")!;
      assertStrictEquals(link.kind, "symlink");
      assertStrictEquals(link.symlinkTarget, "sub");
      assertEquals(link.hash, blake3(new TextEncoder().encode("sub")));
      assertStrictEquals(get("link-outside")!.symlinkTarget, "/etc");
      assertStrictEquals(get("link-to-dir/b.bin"), undefined);
      assertStrictEquals(get(".dsyncignore"), undefined);
    });
  },
);

testBothWays(
  "Scanner.scan() with nothing changed hashes nothing and writes nothing",
  async () => {
    await withScanner(async ({ dir, store, scanner, hashedNames }) => {
      for (let i = 0; i < 30; i++) {
        write(dir, `d${i % 3}/f${i}.txt`, `file ${i}`);
      }
      Deno.symlinkSync("d0", `${dir}/l`);
      await scanner.scan();
      hashedNames();
      const sequence = store.maxSequence;
      const summary = await scanner.scan();
      assertEquals(hashedNames(), []);
      assertStrictEquals(summary.hashedFiles, 0);
      assertStrictEquals(summary.files, 30);
      assertStrictEquals(summary.dirs, 3);
      assertStrictEquals(summary.symlinks, 1);
      assertStrictEquals(store.maxSequence, sequence);
    });
  },
);

testBothWays(
  "Scanner.scan() rehashes a modified file and bumps its version",
  async () => {
    await withScanner(async ({ dir, store, scanner, get, hashedNames }) => {
      write(dir, "a.txt", "one");
      write(dir, "b.txt", "other");
      await scanner.scan();
      hashedNames();
      const before = get("a.txt")!;
      const untouched = get("b.txt")!;
      write(dir, "a.txt", "two, longer");
      const summary = await scanner.scan();
      assertEquals(hashedNames(), ["a.txt"]);
      assertStrictEquals(summary.hashedFiles, 1);
      const after = get("a.txt")!;
      assertStrictEquals(after.size, 11);
      assertEquals(
        after.hash,
        blake3(new TextEncoder().encode("two, longer")),
      );
      assertStrictEquals(counterOf(after.version, store.replicaId), 2);
      assert(after.sequence > before.sequence);
      assertStrictEquals(get("b.txt")!.sequence, untouched.sequence);
    });
  },
);

testBothWays(
  "Scanner.scan() notices a same-size edit through mtime",
  async () => {
    await withScanner(async ({ dir, scanner, get, hashedNames }) => {
      write(dir, "a.txt", "aaaa");
      Deno.utimeSync(`${dir}/a.txt`, 1_000, 1_000);
      await scanner.scan();
      write(dir, "a.txt", "bbbb");
      Deno.utimeSync(`${dir}/a.txt`, 2_000, 2_000);
      hashedNames();
      await scanner.scan();
      assertEquals(hashedNames(), ["a.txt"]);
      assertEquals(
        get("a.txt")!.hash,
        blake3(new TextEncoder().encode("bbbb")),
      );
    });
  },
);

testBothWays(
  "Scanner.scan() updates only local stat when a touch keeps the content",
  async () => {
    await withScanner(async ({ dir, store, scanner, get, hashedNames }) => {
      write(dir, "a.txt", "same");
      await scanner.scan();
      const before = get("a.txt")!;
      Deno.utimeSync(`${dir}/a.txt`, 1_234_567, 1_234_567);
      hashedNames();
      await scanner.scan();
      assertEquals(hashedNames(), ["a.txt"]);
      const after = get("a.txt")!;
      assertStrictEquals(after.mtimeNs, 1_234_567_000_000_000n);
      assertStrictEquals(after.sequence, before.sequence);
      assertEquals(after.version, before.version);
      await scanner.scan();
      assertEquals(hashedNames(), []);
      assertStrictEquals(store.maxSequence, before.sequence);
    });
  },
);

Deno.test("Scanner.scan() records an exec bit change without rehashing", async () => {
  await withScanner(async ({ dir, store, scanner, get, hashedNames }) => {
    write(dir, "run.sh", "#!/bin/sh\n");
    await scanner.scan();
    hashedNames();
    const before = get("run.sh")!;
    Deno.chmodSync(`${dir}/run.sh`, 0o755);
    await scanner.scan();
    assertEquals(hashedNames(), []);
    const after = get("run.sh")!;
    assertStrictEquals(after.exec, true);
    assertEquals(after.hash, before.hash);
    assertStrictEquals(counterOf(after.version, store.replicaId), 2);
    assert(after.sequence > before.sequence);
  });
});

testBothWays(
  "Scanner.scan() turns deleted files and directories into tombstones",
  async () => {
    await withScanner(async ({ dir, store, scanner, get }) => {
      write(dir, "keep.txt", "k");
      write(dir, "gone.txt", "g");
      write(dir, "tree/x/y.txt", "y");
      write(dir, "tree/z.txt", "z");
      Deno.symlinkSync("keep.txt", `${dir}/ln`);
      await scanner.scan();
      const before = get("gone.txt")!;
      Deno.removeSync(`${dir}/gone.txt`);
      Deno.removeSync(`${dir}/tree`, { recursive: true });
      Deno.removeSync(`${dir}/ln`);
      const summary = await scanner.scan();
      assertStrictEquals(summary.deleted, 6);
      assertEquals(paths(store, (r) => r.deleted), [
        "gone.txt",
        "ln",
        "tree",
        "tree/x",
        "tree/x/y.txt",
        "tree/z.txt",
      ]);
      const tomb = get("gone.txt")!;
      assertStrictEquals(tomb.deleted, true);
      assertStrictEquals(tomb.size, 0);
      assertStrictEquals(tomb.chunks.length, 0);
      assertStrictEquals(counterOf(tomb.version, store.replicaId), 2);
      assert(tomb.sequence > before.sequence);
      assertStrictEquals(get("keep.txt")!.deleted, false);
      // A tombstone is written once.
      const sequence = store.maxSequence;
      assertStrictEquals((await scanner.scan()).deleted, 0);
      assertStrictEquals(store.maxSequence, sequence);
      // A file coming back is a new version that dominates the tombstone.
      write(dir, "gone.txt", "back");
      await scanner.scan();
      const back = get("gone.txt")!;
      assertStrictEquals(back.deleted, false);
      assertStrictEquals(counterOf(back.version, store.replicaId), 3);
    });
  },
);

Deno.test("Scanner records removed empty folders as deleted, by a full scan or a rescan of the path", async () => {
  await withScanner(async ({ dir, store, scanner, get }) => {
    Deno.mkdirSync(`${dir}/empty/inner`, { recursive: true });
    Deno.mkdirSync(`${dir}/lonely`);
    await scanner.scan();
    assertStrictEquals(get("empty/inner")!.deleted, false);
    // Watcher events lost (e.g. the process was stopped): the full scan.
    Deno.removeSync(`${dir}/empty`, { recursive: true });
    assertStrictEquals((await scanner.scan()).deleted, 2);
    assertEquals(paths(store, (r) => r.deleted), ["empty", "empty/inner"]);
    // The watcher's event for the folder: a rescan of that path alone.
    Deno.removeSync(`${dir}/lonely`);
    await scanner.scanPaths(["lonely"]);
    assertStrictEquals(get("lonely")!.deleted, true);
  });
});

testBothWays(
  "Scanner.scan() records a kind change as a new version",
  async () => {
    await withScanner(async ({ dir, store, scanner, get }) => {
      write(dir, "x", "file");
      await scanner.scan();
      Deno.removeSync(`${dir}/x`);
      write(dir, "x/inner.txt", "now a dir");
      await scanner.scan();
      const x = get("x")!;
      assertStrictEquals(x.kind, "dir");
      assertStrictEquals(x.deleted, false);
      assertStrictEquals(counterOf(x.version, store.replicaId), 2);
      assertStrictEquals(get("x/inner.txt")!.kind, "file");
    });
  },
);

testBothWays(
  "Scanner.scan() skips default-ignored, -e and always-ignored paths",
  async () => {
    await withScanner(async ({ dir, store, scanner }) => {
      await Deno.writeTextFile(
        `${dir}/.dsyncignore`,
        (await Deno.readTextFile(`${dir}/.dsyncignore`)) + "!*.part\n!.dsync\n",
      );
      write(dir, ".git/config", "g");
      write(dir, "web/node_modules/pkg/index.js", "m");
      write(dir, "web/app.js", "a");
      write(dir, "x.tmp", "t");
      write(dir, "download.iso.part", "p");
      write(dir, "sub/other.part", "p");
      write(dir, "sub/.dsync/index.db", "nested instance");
      write(dir, "build/out.o", "o");
      write(dir, "notes.md", "n");
      await withScannerExtra(
        dir,
        store,
        ["build/", "*.md"],
        async (scanner2) => {
          await scanner2.scan();
        },
      );
      assertEquals(paths(store), ["sub", "web", "web/app.js"]);
      // The fixture's scanner has no -e patterns: build/ and notes.md appear.
      assertStrictEquals((await scanner.scan()).deleted, 0);
      assertEquals(paths(store), [
        "build",
        "build/out.o",
        "notes.md",
        "sub",
        "web",
        "web/app.js",
      ]);
    });
  },
);

async function withScannerExtra(
  dir: string,
  store: IndexStore,
  extra: string[],
  fn: (scanner: Scanner) => Promise<void>,
): Promise<void> {
  const ignore = await IgnoreRules.load(dir, extra);
  await fn(
    new Scanner({
      folder: dir,
      store,
      hasher: new FakeHasher(),
      ignore,
      now: LATER,
    }),
  );
}

Deno.test("Scanner.scan() applies an edited .dsyncignore without restart", async () => {
  await withScanner(async ({ dir, store, scanner, get }) => {
    write(dir, "a.log", "1");
    write(dir, "b.txt", "2");
    write(dir, "logs/c.txt", "3");
    await scanner.scan();
    assertEquals(paths(store), ["a.log", "b.txt", "logs", "logs/c.txt"]);
    const logBefore = get("a.log")!;
    await Deno.writeTextFile(`${dir}/.dsyncignore`, "*.log\nlogs/\n");
    write(dir, "new.log", "4");
    write(dir, "logs/d.txt", "5");
    write(dir, "a.log", "changed while ignored");
    const summary = await scanner.scan();
    // Newly ignored paths are neither indexed nor deleted on peers.
    assertStrictEquals(summary.deleted, 0);
    assertStrictEquals(get("new.log"), undefined);
    assertStrictEquals(get("logs/d.txt"), undefined);
    assertEquals(get("a.log"), logBefore);
    assertStrictEquals(get("logs/c.txt")!.deleted, false);
    // Un-ignoring brings them back.
    await Deno.writeTextFile(`${dir}/.dsyncignore`, "");
    await scanner.scan();
    assertEquals(paths(store), [
      "a.log",
      "b.txt",
      "logs",
      "logs/c.txt",
      "logs/d.txt",
      "new.log",
    ]);
    assertStrictEquals(get("a.log")!.size, "changed while ignored".length);
  });
});

testBothWays(
  "Scanner.scan() logs and skips an unreadable file and indexes the rest",
  async () => {
    await captureWarnings(async (warnings) => {
      await withScanner(async ({ dir, store, hasher, scanner, get }) => {
        write(dir, "ok1.txt", "1");
        write(dir, "secret.txt", "s");
        write(dir, "sub/ok2.txt", "2");
        hasher.denied.add("/secret.txt");
        const first = await scanner.scan();
        assertStrictEquals(first.errors, 1);
        assertEquals(paths(store), ["ok1.txt", "sub", "sub/ok2.txt"]);
        assert(warnings.some((w) => w.properties.path === "secret.txt"));

        // Once indexed, a file that turns unreadable keeps its record: no tombstone.
        hasher.denied.clear();
        await scanner.scan();
        const indexed = get("secret.txt")!;
        write(dir, "secret.txt", "changed");
        hasher.denied.add("/secret.txt");
        const again = await scanner.scan();
        assertStrictEquals(again.errors, 1);
        assertStrictEquals(again.deleted, 0);
        assertEquals(get("secret.txt"), indexed);
      });
    });
  },
);

testBothWays("Scanner.scan() skips FIFOs without opening them", async () => {
  await withScanner(async ({ dir, store, scanner }) => {
    write(dir, "a.txt", "a");
    const mkfifo = new Deno.Command("mkfifo", { args: [`${dir}/pipe`] });
    assertStrictEquals((await mkfifo.output()).code, 0);
    const summary = await scanner.scan();
    assertStrictEquals(summary.errors, 0);
    assertEquals(paths(store), ["a.txt"]);
  });
});

testBothWays(
  "Scanner.scan() stores an NFD name as NFC and keeps it across rescans",
  async () => {
    await withScanner(async ({ dir, store, scanner, get }) => {
      const nfd = "cafe\u0301";
      const nfc = "caf\u00e9";
      write(dir, `${nfd}/r${nfd}sum${nfd}.txt`, "x");
      await scanner.scan();
      assertEquals(paths(store), [nfc, `${nfc}/r${nfc}sum${nfc}.txt`]);
      const summary = await scanner.scan();
      assertStrictEquals(summary.deleted, 0);
      // A targeted rescan by the canonical name finds the NFD file on disk.
      const sequence = store.maxSequence;
      const targeted = await scanner.scanPaths([
        `${nfc}/r${nfc}sum${nfc}.txt`,
        nfc,
      ]);
      assertStrictEquals(targeted.deleted, 0);
      assertStrictEquals(store.maxSequence, sequence);
      assertStrictEquals(get(`${nfc}/r${nfc}sum${nfc}.txt`)!.deleted, false);
    });
  },
);

testBothWays(
  "Scanner.scan() hashes a file again when it changes during hashing",
  async () => {
    await withScanner(async ({ dir, scanner, hasher, get, hashedNames }) => {
      write(dir, "busy.txt", "first");
      Deno.utimeSync(`${dir}/busy.txt`, 1_000, 1_000);
      hasher.before.set(
        "/busy.txt",
        () => write(dir, "busy.txt", "second version"),
      );
      await scanner.scan();
      assertEquals(hashedNames(), ["busy.txt", "busy.txt"]);
      assertEquals(
        get("busy.txt")!.hash,
        blake3(new TextEncoder().encode("second version")),
      );
      assertStrictEquals(get("busy.txt")!.size, 14);
    });
  },
);

testBothWays(
  "Scanner.scan() rehashes a file modified right before it was hashed",
  async () => {
    let clock = Date.now();
    await withScanner(async ({ dir, scanner, hashedNames }) => {
      write(dir, "fresh.txt", "f");
      write(dir, "old.txt", "o");
      Deno.utimeSync(`${dir}/old.txt`, 1_000, 1_000);
      clock = Date.now();
      Deno.utimeSync(`${dir}/fresh.txt`, new Date(clock), new Date(clock));
      await scanner.scan();
      assertEquals(hashedNames(), ["fresh.txt", "old.txt"]);
      // Its mtime was within the racy window of the hash: checked once more.
      clock += 60_000;
      await scanner.scan();
      assertEquals(hashedNames(), ["fresh.txt"]);
      await scanner.scan();
      assertEquals(hashedNames(), []);
    }, { now: () => clock });
  },
);

Deno.test("Scanner.scanPaths() rescans only the given paths", async () => {
  await withScanner(async ({ dir, store, scanner, get, hashedNames }) => {
    write(dir, "a.txt", "a");
    write(dir, "b.txt", "b");
    write(dir, "d/x.txt", "x");
    write(dir, "d/e/y.txt", "y");
    await scanner.scan();
    hashedNames();
    write(dir, "a.txt", "a changed");
    write(dir, "b.txt", "b changed"); // not reported: left for the next full scan
    write(dir, "d/e/z.txt", "new");
    Deno.removeSync(`${dir}/d/x.txt`);
    const summary = await scanner.scanPaths([
      "a.txt",
      "d",
      "d/e/z.txt",
      "missing/never.txt",
    ]);
    assertEquals(hashedNames(), ["a.txt", "d/e/z.txt"]);
    assertStrictEquals(summary.deleted, 1);
    assertStrictEquals(get("d/x.txt")!.deleted, true);
    assertStrictEquals(get("d/e/z.txt")!.size, 3);
    assertStrictEquals(get("b.txt")!.size, 1);
    assertStrictEquals(get("missing/never.txt"), undefined);
    // A removed directory takes its records with it.
    Deno.removeSync(`${dir}/d`, { recursive: true });
    const removed = await scanner.scanPaths(["d"]);
    assertStrictEquals(removed.deleted, 4);
    assertEquals(paths(store), ["a.txt", "b.txt"]);
  });
});

Deno.test("Scanner.scanPaths() handles a directory replaced by a file and paths through symlinks", async () => {
  await withScanner(async ({ dir, store, scanner, get }) => {
    write(dir, "d/x.txt", "x");
    write(dir, "real/r.txt", "r");
    await scanner.scan();
    Deno.removeSync(`${dir}/d`, { recursive: true });
    write(dir, "d", "now a file");
    Deno.symlinkSync("real", `${dir}/via`);
    const summary = await scanner.scanPaths(["d", "via/r.txt", "d\\x.txt"]);
    assertStrictEquals(get("d")!.kind, "file");
    assertStrictEquals(get("d/x.txt")!.deleted, true);
    assertStrictEquals(summary.deleted, 1);
    assertStrictEquals(get("via/r.txt"), undefined);
    assertEquals(paths(store), ["d", "real", "real/r.txt"]);
  });
});

Deno.test("Scanner.scanPaths() ignores ignored paths and never tombstones them", async () => {
  await withScanner(async ({ dir, store, scanner, get }) => {
    write(dir, "keep.txt", "k");
    await scanner.scan();
    write(dir, "junk.tmp", "t");
    write(dir, "node_modules/m.js", "m");
    await scanner.scanPaths([
      "junk.tmp",
      "node_modules/m.js",
      "node_modules",
      ".dsync/index.db",
    ]);
    assertEquals(paths(store), ["keep.txt"]);
    await Deno.writeTextFile(`${dir}/.dsyncignore`, "keep.txt\n");
    Deno.removeSync(`${dir}/keep.txt`);
    const summary = await scanner.scanPaths(["keep.txt"]);
    assertStrictEquals(summary.deleted, 0);
    assertStrictEquals(get("keep.txt")!.deleted, false);
  });
});

Deno.test("Scanner runs overlapping scans one after the other", async () => {
  await withScanner(async ({ dir, store, scanner }) => {
    for (let i = 0; i < 20; i++) write(dir, `f${i}`, `${i}`);
    const [a, b, c] = await Promise.all([
      scanner.scan(),
      scanner.scanPaths(["f1"]),
      scanner.scan(),
    ]);
    assertStrictEquals(a.hashedFiles, 20);
    assertStrictEquals(b.hashedFiles, 0);
    assertStrictEquals(c.hashedFiles, 0);
    assertStrictEquals(store.maxSequence, 20);
  });
});

testBothWays(
  "Scanner.scan() finds changes made while stopped after reopening the index",
  async () => {
    await withScanner(async ({ dir, store, scanner }) => {
      write(dir, "a.txt", "a");
      write(dir, "b.txt", "b");
      await scanner.scan();
      const replica = store.replicaId;
      // "Stopped": another store and scanner over the same folder later on.
      Deno.removeSync(`${dir}/a.txt`);
      write(dir, "c.txt", "created while stopped");
      const reopened = IndexStore.open(dir);
      try {
        assertStrictEquals(reopened.replicaId, replica);
        const ignore = await IgnoreRules.load(dir);
        const hasher = new FakeHasher();
        const again = new Scanner({
          folder: dir,
          store: reopened,
          hasher,
          ignore,
          now: LATER,
        });
        const summary = await again.scan();
        assertStrictEquals(summary.deleted, 1);
        assertStrictEquals(summary.hashedFiles, 1);
        assertStrictEquals(reopened.get("a.txt")!.deleted, true);
        assertStrictEquals(reopened.get("c.txt")!.deleted, false);
      } finally {
        reopened.close();
      }
    });
  },
);

Deno.test("Scanner.scan() refuses a folder without .dsync and deletes nothing", async () => {
  await withScanner(async ({ dir, store, scanner }) => {
    write(dir, "a.txt", "a");
    await scanner.scan();
    const sequence = store.maxSequence;
    // As if the folder were unmounted: everything, .dsync included, is gone.
    Deno.renameSync(`${dir}/.dsync`, `${dir}/.dsync-away`);
    Deno.removeSync(`${dir}/a.txt`);
    await assertRejects(() => scanner.scan(), FolderUnavailableError);
    await assertRejects(
      () => scanner.scanPaths(["a.txt"]),
      FolderUnavailableError,
    );
    Deno.renameSync(`${dir}/.dsync-away`, `${dir}/.dsync`);
    assertStrictEquals(store.maxSequence, sequence);
    assertStrictEquals(store.get("a.txt")!.deleted, false);
  });
});

Deno.test("Scanner keeps working after a failed scan", async () => {
  await withScanner(async ({ dir, scanner, get }) => {
    write(dir, "a.txt", "a");
    Deno.renameSync(`${dir}/.dsync`, `${dir}/.dsync-away`);
    await assertRejects(() => scanner.scan(), FolderUnavailableError);
    Deno.renameSync(`${dir}/.dsync-away`, `${dir}/.dsync`);
    await scanner.scan();
    assertStrictEquals(get("a.txt")!.size, 1);
  });
});

testBothWays(
  "Scanner.scan() skips a path whose version cannot be bumped and records the rest",
  async () => {
    await captureWarnings(async (warnings) => {
      await withScanner(async ({ dir, store, scanner, get }) => {
        write(dir, "stuck.txt", "one");
        write(dir, "fine.txt", "one");
        await scanner.scan();
        // Our counter and those of all our overflow ids at the bound (a
        // vector holds 256 entries): no edit can be counted.
        const stuck = get("stuck.txt")!;
        const chain: [bigint, number][] = [];
        for (let id = store.replicaId; chain.length < 256;) {
          chain.push([id, MAX_VERSION_COUNTER]);
          id = overflowReplica(id);
        }
        store.put({ ...stuck, version: versionOf(chain) });
        const before = get("stuck.txt")!;
        write(dir, "stuck.txt", "two, longer");
        write(dir, "fine.txt", "two, longer");
        write(dir, "new.txt", "new");
        await scanner.scan();
        assertStrictEquals(get("stuck.txt")!.sequence, before.sequence);
        assertStrictEquals(
          counterOf(get("fine.txt")!.version, store.replicaId),
          2,
        );
        assert(get("new.txt") !== undefined);
        assert(
          warnings.some((w) =>
            String(w.properties.path) === "stuck.txt" &&
            w.rawMessage.toString().includes("Cannot record the change")
          ),
        );
      });
    });
  },
);

testBothWays(
  "Scanner tells onCommit of records written in the middle of a scan",
  async () => {
    await withScanner(async ({ dir, store, scannerWith }) => {
      for (let i = 0; i < 2500; i++) write(dir, `d${i % 5}/f${i}.txt`, `${i}`);
      const seen: number[] = [];
      // Written every 1,000 records (or 250 ms) and at the end.
      await scannerWith({ onCommit: () => seen.push(store.maxSequence) })
        .scan();
      // The index grew while the scan ran, and peers were told each time.
      assert(seen.length >= 3, `${seen.length} commits`);
      assert(seen[0]! < 2500, `first commit at ${seen[0]}`);
      assertStrictEquals(seen.at(-1), store.maxSequence);
      const timed: number[] = [];
      write(dir, "late/a.txt", "a");
      write(dir, "late/b.txt", "b");
      await scannerWith({
        onCommit: () => timed.push(store.maxSequence),
        commitEveryMs: 0,
      }).scan();
      // Two files and a folder, each written as soon as found.
      assert(timed.length >= 3, `${timed.length} commits`);
    }, { defaults: false });
  },
);

testBothWays(
  "Scanner reports a name that is not valid UTF-8 instead of skipping it silently, until it is gone",
  async () => {
    if (Deno.build.os === "windows") return; // names are UTF-16 there
    await withScanner(async ({ dir, scanner, get }) => {
      await Deno.writeTextFile(`${dir}/fine.txt`, "ok");
      await Deno.mkdir(`${dir}/sub`);
      // Deno takes only strings for paths: the shell makes the raw bytes.
      const sh = async (script: string) => {
        const run = await new Deno.Command("sh", { args: ["-c", script] })
          .output();
        assertStrictEquals(run.code, 0, new TextDecoder().decode(run.stderr));
      };
      await sh(`touch "$(printf '${dir}/sub/bad\\377name.txt')"`);
      await scanner.scan();
      assert(get("fine.txt") !== undefined);
      assertEquals(scanner.invalidNames, ["sub/bad\uFFFDname.txt"]);
      assertStrictEquals(get("sub/bad\uFFFDname.txt"), undefined);
      await sh(`rm -f "${dir}/sub/"bad*name.txt`);
      await scanner.scan();
      assertEquals(scanner.invalidNames, []);
    });
  },
);

Deno.test("Scanner.scan() hashes small files in batches and a big one alone", async () => {
  await withScanner(async ({ dir, store, scanner, hasher, hashedNames }) => {
    for (let i = 0; i < 600; i++) write(dir, `d${i % 3}/f${i}.txt`, `${i}`);
    write(dir, "big.bin", "b".repeat(100_000));
    const summary = await scanner.scan();
    assertStrictEquals(summary.files, 601);
    assertStrictEquals(summary.hashedFiles, 601);
    assertStrictEquals(hashedNames().length, 601);
    // A new file is listed, not looked at: the big one is offered in a
    // batch too, which answers "not small", and is then hashed alone.
    assertStrictEquals(hasher.batches.reduce((a, b) => a + b, 0), 601);
    assert(hasher.batches.every((n) => n <= 256), `${hasher.batches}`);
    assertStrictEquals(paths(store).length, 604);
  }, { batching: true });
});

Deno.test("Scanner.scan() looks again at a file replaced by a directory or a link before its batch", async () => {
  await withScanner(async ({ dir, scanner, hasher, get }) => {
    write(dir, "a/x.txt", "x");
    write(dir, "a/y.txt", "y");
    write(dir, "a/z.txt", "z");
    // Runs when the batch reads x.txt: y and z are replaced meanwhile.
    hasher.before.set("/x.txt", () => {
      Deno.removeSync(`${dir}/a/y.txt`);
      Deno.mkdirSync(`${dir}/a/y.txt`);
      Deno.removeSync(`${dir}/a/z.txt`);
      Deno.symlinkSync("x.txt", `${dir}/a/z.txt`);
    });
    const summary = await scanner.scan();
    assertStrictEquals(summary.errors, 0);
    assertStrictEquals(get("a/x.txt")!.kind, "file");
    assertStrictEquals(get("a/y.txt")!.kind, "dir");
    assertStrictEquals(get("a/z.txt")!.kind, "symlink");
    assertStrictEquals(get("a/z.txt")!.symlinkTarget, "x.txt");
  }, { batching: true });
});

Deno.test("Scanner gives the hasher the stored chunks of a changed big file, and none for a new or small one", async () => {
  await withScanner(async (f) => {
    const big = new Uint8Array(5 << 20).fill(7);
    await Deno.writeFile(`${f.dir}/big.bin`, big);
    write(f.dir, "small.txt", "x".repeat(100_000));
    await f.scanner.scan();
    assertEquals(f.hasher.previous.get(`${f.dir}/big.bin`), undefined);
    const stored = f.get("big.bin")!.chunks;
    big[4 << 20] = 8;
    await Deno.writeFile(`${f.dir}/big.bin`, big);
    write(f.dir, "small.txt", "y".repeat(100_000));
    await f.scanner.scan();
    assertEquals(
      f.hasher.previous.get(`${f.dir}/big.bin`)?.map((c) => c.offset),
      stored.map((c) => c.offset),
    );
    assertEquals(f.hasher.previous.get(`${f.dir}/small.txt`), undefined);
  }, { batching: false });
});

Deno.test("Scanner.running is true while a scan runs, false before and after, also when it fails", async () => {
  await withScanner(async ({ dir, scannerWith }) => {
    write(dir, "a.txt", "1");
    const seen: boolean[] = [];
    const scanner: Scanner = scannerWith({
      onCommit: () => void seen.push(scanner.running),
    });
    assertStrictEquals(scanner.running, false);
    await scanner.scan();
    assertEquals(seen, [true]);
    assertStrictEquals(scanner.running, false);
    // The folder goes away while the scan runs (its commit checks the
    // folder again): the scan fails, and running ends anyway.
    let checks = 0;
    const failing = scannerWith({
      checkFolder: () => {
        if (++checks > 1) throw new Error("gone");
      },
    });
    write(dir, "b.txt", "2");
    await assertRejects(() => failing.scanPaths(["b.txt"]), Error, "gone");
    assert(checks > 1, "failed inside the scan");
    assertStrictEquals(failing.running, false);
  });
});

Deno.test("Scanner commits a big file's record at once, not with the next batch", async () => {
  await withScanner(async ({ dir, scannerWith, store, hasher }) => {
    const big = await Deno.open(`${dir}/big.bin`, {
      write: true,
      create: true,
    });
    await big.truncate(16 << 20);
    big.close();
    write(dir, "small.txt", "1");
    // small.txt is hashed only once big.bin's record is in (or after 2 s).
    const slowed: FileHasher = {
      hashFile: async (path, previous) => {
        if (path.endsWith("small.txt")) {
          await waitFor(() => store.get("big.bin") !== undefined, "big", 2_000)
            .catch(() => {});
        }
        return await hasher.hashFile(path, previous);
      },
    };
    let commits = 0;
    const scanner = scannerWith({
      hasher: slowed,
      // Only a full batch or the end of the scan would commit otherwise.
      commitEveryMs: 1e9,
      onCommit: () => void commits++,
    });
    await scanner.scan();
    assertEquals(commits, 2);
    assertEquals(store.get("small.txt")?.size, 1);
  }, { defaults: false });
});
