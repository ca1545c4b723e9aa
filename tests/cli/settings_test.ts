import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  checkFolder,
  type Flags,
  mergeSettings,
  parseFlags,
  UsageError,
} from "../../src/cli/mod.ts";

const defaults = { hostname: "host1", cwd: "/home/a" };
const flags = (...argv: string[]): Flags => parseFlags(argv);

Deno.test("mergeSettings() applies defaults", () => {
  assertEquals(mergeSettings(flags("-d", "shared"), {}, defaults), {
    folder: "/home/a/shared",
    port: 9000,
    name: "host1",
    peers: [],
    excludes: [],
    discovery: true,
    verbose: false,
    maxConcurrentTransfers: 4,
    open: false,
  });
  assertEquals(
    mergeSettings(flags("-d", "/s"), {}, { hostname: null, cwd: "/" }).name,
    "dsync-instance",
  );
});

Deno.test("mergeSettings() lets flags override the file and add to its lists", () => {
  const settings = mergeSettings(
    flags(
      "-p",
      "9300",
      "-n",
      "cli",
      "-a",
      "b:2",
      "-e",
      "*.log",
      "--no-discovery",
    ),
    {
      path: "/from/file",
      port: 9200,
      name: "file",
      peer: ["a:1"],
      exclude: ["*.iso"],
      verbose: true,
      max_concurrent_transfers: 2,
    },
    defaults,
  );
  assertEquals(settings, {
    folder: "/from/file",
    port: 9300,
    name: "cli",
    peers: [{ hostname: "a", port: 1 }, { hostname: "b", port: 2 }],
    excludes: ["*.iso", "*.log"],
    discovery: false,
    verbose: true,
    maxConcurrentTransfers: 2,
    open: false,
  });
  assertEquals(
    mergeSettings(flags("-d", "/x"), { path: "/y" }, defaults).folder,
    "/x",
  );
  assertEquals(
    mergeSettings(flags("-d", "/x"), { no_discovery: true }, defaults)
      .discovery,
    false,
  );
});

Deno.test("mergeSettings() refuses bad input with one clear line", () => {
  const table: [Flags, string][] = [
    [flags(), "Missing folder"],
    [flags("-d", "/x", "-p", "0"), 'Invalid port "0"'],
    [flags("-d", "/x", "-p", "http"), 'Invalid port "http"'],
    [flags("-d", "/x", "-a", "nohost"), 'Invalid peer address "nohost"'],
    [flags("-d", "/x", "-n", "a".repeat(64)), "longer than 63 bytes"],
    [flags("-d", "/x", "-n", "tab\there"), "control characters"],
  ];
  for (const [input, message] of table) {
    assertThrows(() => mergeSettings(input, {}, defaults), UsageError, message);
  }
});

Deno.test("checkFolder() refuses a missing folder and a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkFolder(dir);
    await assertRejects(
      () => checkFolder(`${dir}/none`),
      UsageError,
      "does not exist",
    );
    await Deno.writeTextFile(`${dir}/file`, "x");
    await assertRejects(
      () => checkFolder(`${dir}/file`),
      UsageError,
      "is not a folder",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
