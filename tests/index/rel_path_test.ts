import { assertStrictEquals } from "../assert.ts";
import {
  baseName,
  isWithin,
  joinRel,
  nativeToWirePath,
  parentRel,
  type PathPlatform,
  separatorOf,
  toOsPath,
  toRelPath,
  wireToNativePath,
} from "../../src/index/rel_path.ts";
import { wirePathProblem } from "../../src/protocol/wire_path.ts";

const NFD_E = "e\u0301"; // "é" decomposed
const NFC_E = "\u00e9"; // "é" composed

Deno.test("toRelPath() canonicalizes separators, dots and Unicode", () => {
  const cases: [string, string, string][] = [
    // [input, separator, expected]
    ["a/b/c.txt", "/", "a/b/c.txt"],
    ["a\\b\\c.txt", "\\", "a/b/c.txt"],
    ["a\\b/c.txt", "\\", "a/b/c.txt"],
    ["a\\b", "/", "a\\b"], // on POSIX a backslash is a name character
    ["./a//b/", "/", "a/b"],
    [".\\a\\.\\b\\", "\\", "a/b"],
    [
      `caf${NFD_E}/${NFD_E}t${NFD_E}.txt`,
      "/",
      `caf${NFC_E}/${NFC_E}t${NFC_E}.txt`,
    ],
    ["", "/", ""],
    [".", "/", ""],
  ];
  for (const [input, sep, expected] of cases) {
    assertStrictEquals(
      toRelPath(input, sep),
      expected,
      `input ${JSON.stringify(input)}`,
    );
  }
});

Deno.test("toOsPath() joins with the platform separator", () => {
  assertStrictEquals(toOsPath("/srv/f", "a/b.txt", "/"), "/srv/f/a/b.txt");
  assertStrictEquals(toOsPath("/srv/f/", "a/b.txt", "/"), "/srv/f/a/b.txt");
  assertStrictEquals(toOsPath("C:\\f", "a/b.txt", "\\"), "C:\\f\\a\\b.txt");
  assertStrictEquals(toOsPath("C:\\f\\", "a/b.txt", "\\"), "C:\\f\\a\\b.txt");
  assertStrictEquals(toOsPath("/srv/f", "", "/"), "/srv/f");
});

Deno.test("toRelPath() and toOsPath() round-trip", () => {
  for (const sep of ["/", "\\"]) {
    const rel = `d/${NFC_E}/x y.txt`;
    const os = toOsPath(sep === "/" ? "/root" : "C:\\root", rel, sep);
    const back = os.slice((sep === "/" ? "/root" : "C:\\root").length + 1);
    assertStrictEquals(toRelPath(back, sep), rel);
  }
});

Deno.test("joinRel() appends an NFC name", () => {
  assertStrictEquals(joinRel("", "a"), "a");
  assertStrictEquals(joinRel("a", `${NFD_E}.txt`), `a/${NFC_E}.txt`);
});

Deno.test("parentRel(), baseName() and isWithin() split canonical paths", () => {
  assertStrictEquals(parentRel("a/b/c"), "a/b");
  assertStrictEquals(parentRel("a"), "");
  assertStrictEquals(baseName("a/b/c"), "c");
  assertStrictEquals(baseName("c"), "c");
  const cases: [string, string, boolean][] = [
    ["a/b", "a", true],
    ["a", "a", true],
    ["ab", "a", false],
    ["a b/c", "a", false],
    ["a", "a/b", false],
    ["x", "", true],
  ];
  for (const [path, ancestor, expected] of cases) {
    assertStrictEquals(
      isWithin(path, ancestor),
      expected,
      `${path} within ${ancestor}`,
    );
  }
});

Deno.test("separatorOf() is a backslash on Windows only", () => {
  assertStrictEquals(separatorOf("windows"), "\\");
  for (const os of ["linux", "darwin", "freebsd", "android"] as const) {
    assertStrictEquals(separatorOf(os), "/");
  }
});

Deno.test("nativeToWirePath() maps Windows and macOS names to the wire form", () => {
  const table: [PathPlatform, string, string, string | null][] = [
    // platform, native relative path, wire path, wire problem
    ["windows", "docs\\Report.txt", "docs/Report.txt", null],
    ["windows", "docs/sub\\x.md", "docs/sub/x.md", null],
    ["windows", ".\\a\\.\\b\\", "a/b", null],
    [
      "windows",
      `caf${NFD_E}\\r${NFD_E}sum${NFD_E}.txt`,
      `caf${NFC_E}/r${NFC_E}sum${NFC_E}.txt`,
      null,
    ],
    [
      "darwin",
      `caf${NFD_E}/na${"\u0308"}ive.txt`,
      `caf${NFC_E}/n\u00e4ive.txt`,
      null,
    ],
    ["darwin", "Photos Library/x.jpg", "Photos Library/x.jpg", null],
    ["darwin", "a\\b.txt", "a\\b.txt", "backslash"], // a name character on macOS
    [
      "darwin",
      "time 12:30.txt",
      "time 12:30.txt",
      "character not allowed on Windows",
    ],
    ["linux", "con.txt", "con.txt", "reserved Windows name"],
    ["linux", "dir/LPT1", "dir/LPT1", "reserved Windows name"],
    ["linux", "trailing. ", "trailing. ", "trailing dot or space"],
  ];
  for (const [platform, native, wire, problem] of table) {
    const mapped = nativeToWirePath(native, platform);
    assertStrictEquals(mapped, wire, `${platform} ${native}`);
    assertStrictEquals(
      wirePathProblem(mapped),
      problem,
      `${platform} ${native}`,
    );
  }
});

Deno.test("wireToNativePath() joins under drive letters, UNC and POSIX folders", () => {
  const table: [PathPlatform, string, string, string][] = [
    [
      "windows",
      "C:\\Users\\u\\Sync",
      "a/b.txt",
      "C:\\Users\\u\\Sync\\a\\b.txt",
    ],
    ["windows", "D:\\", "x/y", "D:\\x\\y"],
    ["windows", "\\\\nas\\share\\sync", "f.txt", "\\\\nas\\share\\sync\\f.txt"],
    ["windows", "C:\\Sync", "", "C:\\Sync"],
    [
      "darwin",
      "/Users/u/Sync",
      `caf${NFC_E}.txt`,
      `/Users/u/Sync/caf${NFC_E}.txt`,
    ],
    ["linux", "/srv/sync/", "a/b", "/srv/sync/a/b"],
  ];
  for (const [platform, folder, wire, native] of table) {
    assertStrictEquals(wireToNativePath(folder, wire, platform), native, wire);
  }
});

Deno.test("nativeToWirePath() inverts wireToNativePath() on every platform", () => {
  const wire = `dir/sub dir/caf${NFC_E}.tar.gz`;
  for (const platform of ["windows", "darwin", "linux"] as const) {
    const root = platform === "windows" ? "C:\\Sync" : "/sync";
    const native = wireToNativePath(root, wire, platform);
    assertStrictEquals(
      nativeToWirePath(native.slice(root.length + 1), platform),
      wire,
    );
  }
});
