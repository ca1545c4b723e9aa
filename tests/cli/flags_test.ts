import { assertEquals, assertThrows } from "../assert.ts";
import { parseFlags, UsageError } from "../../src/cli/mod.ts";

Deno.test("parseFlags() reads short and long forms", () => {
  const short = parseFlags([
    "-d",
    "dir",
    "-p",
    "9001",
    "-n",
    "laptop",
    "-a",
    "a:1",
    "-a",
    "b:2",
    "-e",
    "*.log",
    "--no-discovery",
    "-v",
  ]);
  const long = parseFlags([
    "--path",
    "dir",
    "--port=9001",
    "--name",
    "laptop",
    "--peer",
    "a:1",
    "--peer",
    "b:2",
    "--exclude",
    "*.log",
    "--no-discovery",
    "--verbose",
  ]);
  const expected = {
    path: "dir",
    port: "9001",
    name: "laptop",
    peers: ["a:1", "b:2"],
    excludes: ["*.log"],
    noDiscovery: true,
    verbose: true,
    open: false,
    help: false,
    version: false,
  };
  assertEquals(short, expected);
  assertEquals(long, expected);
});

Deno.test("parseFlags() leaves unset options absent", () => {
  assertEquals(parseFlags([]), {
    peers: [],
    excludes: [],
    noDiscovery: false,
    verbose: false,
    open: false,
    help: false,
    version: false,
  });
  assertEquals(parseFlags(["--config", "x.toml"]).config, "x.toml");
  assertEquals(parseFlags(["--help"]).help, true);
  assertEquals(parseFlags(["-V"]).version, true);
});

Deno.test("parseFlags() refuses unknown options, missing values and stray arguments", () => {
  const table: [string[], string][] = [
    [["-x"], 'Unknown option "-x"'],
    [["--frobnicate"], 'Unknown option "--frobnicate"'],
    [["-d"], "needs a value"],
    [["--port"], "needs a value"],
    [["-d", "a", "b"], 'Unexpected argument "b"'],
    [["--verbose=yes"], "does not take an argument"],
  ];
  for (const [argv, message] of table) {
    assertThrows(() => parseFlags(argv), UsageError, message, argv.join(" "));
  }
});

Deno.test("parseFlags() reads the versions, restore, mode and pause commands", () => {
  const table: [string[], unknown][] = [
    [["versions", "-d", "x"], { name: "versions" }],
    [["versions", "-d", "x", "a/b.txt"], { name: "versions", path: "a/b.txt" }],
    [["restore", "-d", "x", "a.txt"], { name: "restore", path: "a.txt" }],
    [["restore", "-d", "x", "a.txt", "--at", "20261207-031500"], {
      name: "restore",
      path: "a.txt",
      at: "20261207-031500",
    }],
    [["override", "-d", "x"], { name: "override" }],
    [["revert", "-d", "x"], { name: "revert" }],
    [["pause", "-d", "x"], { name: "pause" }],
    [["resume", "-d", "x"], { name: "resume", acceptDeletes: false }],
    [["resume", "-d", "x", "--accept-deletes"], {
      name: "resume",
      acceptDeletes: true,
    }],
  ];
  for (const [argv, command] of table) {
    assertEquals(parseFlags(argv).command, command, argv.join(" "));
  }
  assertEquals(
    parseFlags(["-d", "x", "--mode", "send-only"]).mode,
    "send-only",
  );
  assertThrows(() => parseFlags(["restore", "-d", "x"]), UsageError);
  assertThrows(
    () => parseFlags(["status", "-d", "x", "--at", "1"]),
    UsageError,
  );
  assertThrows(() => parseFlags(["versions", "-d", "x", "a", "b"]), UsageError);
});
