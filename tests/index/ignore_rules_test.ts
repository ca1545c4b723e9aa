import ignore from "ignore";
import { assert, assertEquals, assertStrictEquals } from "../assert.ts";
import {
  ALWAYS_IGNORED,
  CACHE_CHARS,
  DEFAULT_DSYNCIGNORE,
  ensureIgnoreFile,
  IGNORE_FILE,
  IgnoreRules,
  isAlwaysIgnoredName,
} from "../../src/index/ignore_rules.ts";

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-ignore-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ensureIgnoreFile() creates the defaults once and never overwrites", async () => {
  await withFolder(async (dir) => {
    assertStrictEquals(await ensureIgnoreFile(dir), true);
    assertStrictEquals(
      await Deno.readTextFile(`${dir}/${IGNORE_FILE}`),
      DEFAULT_DSYNCIGNORE,
    );
    await Deno.writeTextFile(`${dir}/${IGNORE_FILE}`, "mine\n");
    assertStrictEquals(await ensureIgnoreFile(dir), false);
    assertStrictEquals(
      await Deno.readTextFile(`${dir}/${IGNORE_FILE}`),
      "mine\n",
    );
  });
});

Deno.test("DEFAULT_DSYNCIGNORE lists the original defaults with comments", () => {
  const patterns = DEFAULT_DSYNCIGNORE.split("\n").filter((l) =>
    l !== "" && !l.startsWith("#")
  );
  assertEquals(patterns, [
    ".git",
    "node_modules",
    ".DS_Store",
    "*.tmp",
    "*.part",
  ]);
  assert(DEFAULT_DSYNCIGNORE.startsWith("#"));
});

Deno.test("IgnoreRules.ignores() applies the defaults with gitignore semantics", async () => {
  await withFolder(async (dir) => {
    await ensureIgnoreFile(dir);
    const rules = await IgnoreRules.load(dir);
    const cases: [string, boolean, boolean][] = [
      // [path, isDir, ignored]
      [".git", true, true],
      [".git/config", false, true],
      ["sub/node_modules", true, true],
      ["sub/node_modules/x/y.js", false, true],
      ["a/.DS_Store", false, true],
      ["notes.tmp", false, true],
      ["deep/dir/notes.tmp", false, true],
      ["notes.txt", false, false],
      ["src", true, false],
      ["src/main.ts", false, false],
      ["tmp", true, false],
      ["", true, false],
    ];
    for (const [path, isDir, expected] of cases) {
      assertStrictEquals(rules.ignores(path, isDir), expected, path);
    }
  });
});

Deno.test("IgnoreRules.ignores() always ignores dsync's own paths", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/${IGNORE_FILE}`,
      "!*.part\n!.dsync\n!.dsyncignore\n",
    );
    const rules = await IgnoreRules.load(dir, ["!*.part"]);
    const cases: [string, boolean][] = [
      [".dsync", true],
      [".dsync/index.db", false],
      ["x.part", false],
      ["a/b/y.part", false],
      [".dsyncignore", false],
      ["sub/.dsync", true],
    ];
    for (const [path, isDir] of cases) {
      assertStrictEquals(rules.ignores(path, isDir), true, path);
    }
    assertStrictEquals(rules.ignores("x.partial", false), false);
  });
});

Deno.test("IgnoreRules.load() adds -e patterns after the file's", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(`${dir}/${IGNORE_FILE}`, "*.log\n");
    const rules = await IgnoreRules.load(dir, [
      "build/",
      "!keep.log",
      "/top.txt",
    ]);
    const cases: [string, boolean, boolean][] = [
      ["a.log", false, true],
      ["keep.log", false, false],
      ["build", true, true],
      ["build", false, false], // "build/" matches directories only
      ["x/build/out.o", false, true],
      ["top.txt", false, true],
      ["sub/top.txt", false, false],
    ];
    for (const [path, isDir, expected] of cases) {
      assertStrictEquals(
        rules.ignores(path, isDir),
        expected,
        `${path} (dir: ${isDir})`,
      );
    }
    assertEquals(rules.patterns, [
      "*.log",
      "build/",
      "!keep.log",
      "/top.txt",
    ]);
  });
});

Deno.test("IgnoreRules matches case-sensitively and in NFC", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/${IGNORE_FILE}`,
      "Secret.txt\ncafe\u0301\n",
    );
    const rules = await IgnoreRules.load(dir);
    assertStrictEquals(rules.ignores("Secret.txt", false), true);
    assertStrictEquals(rules.ignores("secret.txt", false), false);
    assertStrictEquals(rules.ignores("caf\u00e9", false), true);
  });
});

Deno.test("IgnoreRules on a case-insensitive disk ignores every case variant of an ignored name", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(`${dir}/${IGNORE_FILE}`, ".git\nprivate/\n");
    const sensitive = await IgnoreRules.load(dir, ["id.key"]);
    const folding = await IgnoreRules.load(dir, ["id.key"], {
      caseInsensitive: true,
    });
    assertStrictEquals(folding.caseInsensitive, true);
    const cases: [string, boolean, boolean, boolean][] = [
      // path, isDir, ignored when case-sensitive, when case-insensitive
      [".git/config", false, true, true],
      [".GIT/config", false, false, true],
      [".Git", true, false, true],
      ["ID.KEY", false, false, true],
      ["PRIVATE/x", false, false, true],
      ["private/x", false, true, true],
      ["public/x", false, false, false],
      // dsync's own names: in any case, on every disk.
      [".DSYNC/index.db", false, true, true],
      [".DsyncIgnore", false, true, true],
      ["movie.PART", false, true, true],
    ];
    for (const [path, isDir, wantSensitive, wantFolding] of cases) {
      assertStrictEquals(sensitive.ignores(path, isDir), wantSensitive, path);
      assertStrictEquals(folding.ignores(path, isDir), wantFolding, path);
    }
    // A reload keeps folding.
    await Deno.writeTextFile(`${dir}/${IGNORE_FILE}`, "Build\n");
    assertStrictEquals(await folding.refresh(), true);
    assertStrictEquals(folding.ignores("BUILD", true), true);
  });
});

Deno.test("IgnoreRules.refresh() picks up edits and deletion of .dsyncignore", async () => {
  await withFolder(async (dir) => {
    const file = `${dir}/${IGNORE_FILE}`;
    await Deno.writeTextFile(file, "*.a\n");
    const rules = await IgnoreRules.load(dir);
    assertStrictEquals(rules.ignores("x.a", false), true);
    assertStrictEquals(await rules.refresh(), false);
    // Same size, same second: only the text tells the change.
    await Deno.writeTextFile(file, "*.b\n");
    assertStrictEquals(await rules.refresh(), true);
    assertStrictEquals(rules.ignores("x.a", false), false);
    assertStrictEquals(rules.ignores("x.b", false), true);
    await Deno.remove(file);
    assertStrictEquals(await rules.refresh(), true);
    assertStrictEquals(rules.ignores("x.b", false), false);
    assertStrictEquals(rules.ignores("x.part", false), true);
  });
});

Deno.test("IgnoreRules skips invalid patterns without failing", async () => {
  await withFolder(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/${IGNORE_FILE}`,
      "[\na[\n\\\n[z-a]\nbad\u0001name\n# comment\n\n*.log\n",
    );
    const rules = await IgnoreRules.load(dir, ["also\u0000bad", "*.bak"]);
    assertStrictEquals(rules.ignores("x.log", false), true);
    assertStrictEquals(rules.ignores("x.bak", false), true);
    assertStrictEquals(rules.ignores("plain.txt", false), false);
    assert(!rules.patterns.includes("bad\u0001name"));
    assert(!rules.patterns.includes("also\u0000bad"));
  });
});

Deno.test("IgnoreRules.load() without a .dsyncignore only ignores dsync's own paths", async () => {
  await withFolder(async (dir) => {
    const rules = await IgnoreRules.load(dir);
    assertStrictEquals(rules.ignores("node_modules", true), false);
    assertStrictEquals(rules.ignores(".dsync", true), true);
    assertEquals(rules.patterns, []);
  });
});

Deno.test("isAlwaysIgnoredName() agrees with the ALWAYS_IGNORED patterns in any case", () => {
  const matcher = ignore({ ignorecase: true }).add([...ALWAYS_IGNORED]);
  const names = [
    ".dsync",
    ".dsyncignore",
    "a.part",
    ".part",
    "x.part.txt",
    "part",
    ".dsync2",
    "dsync",
    "a.PART",
    ".DSYNC",
    ".DSyncIgnore",
  ];
  for (const name of names) {
    assertStrictEquals(isAlwaysIgnoredName(name), matcher.ignores(name), name);
  }
});

Deno.test("IgnoreRules keeps its path cache bounded for long, deep paths", async () => {
  await withFolder(async (dir) => {
    const rules = await IgnoreRules.load(dir, ["*.tmp", "build/"]);
    // 3,000 distinct paths of 16 components and ~3,900 characters: the
    // package would cache every path and parent (~100 MB of keys).
    const component = "c".repeat(240);
    for (let i = 0; i < 3_000; i++) {
      const parts = [`top${i}`];
      while (parts.length < 16) parts.push(component);
      const base = parts.join("/");
      assertStrictEquals(rules.ignores(`${base}/f.txt`, false), false);
      assertStrictEquals(rules.ignores(`${base}/f.tmp`, false), true);
      assertStrictEquals(rules.ignores(`${base}/build/x`, false), true);
      assert(rules.cachedChars <= CACHE_CHARS, `${rules.cachedChars}`);
    }
  });
});
