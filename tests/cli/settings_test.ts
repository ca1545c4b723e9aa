import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  checkFolder,
  type Flags,
  invocationDir,
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
    mode: "send-receive",
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
      versions_keep_days: 7,
      versions_max_mb: 500,
      mode: "receive-only",
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
    mode: "receive-only",
    versionsKeepDays: 7,
    versionsMaxMb: 500,
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

Deno.test("mergeSettings() takes a join code from a flag or the file, and open mode", () => {
  const fromFlag = mergeSettings(
    flags("-d", "s", "--join", "k7q4 m2xd 9tpt"),
    {},
    defaults,
  );
  assertEquals(fromFlag.join?.toString(), "K7Q4-M2XD-9TPT");
  assertEquals(fromFlag.joinFromConfig, false);
  const fromFile = mergeSettings(
    flags("-d", "s"),
    { join: "K7Q4-M2XD-9TPT" },
    defaults,
  );
  assertEquals(fromFile.joinFromConfig, true);
  assertEquals(
    mergeSettings(flags("-d", "s"), { open: true }, defaults).open,
    true,
  );
  assertThrows(
    () =>
      mergeSettings(flags("-d", "s", "--join", "K7Q4-M2XD-9TPA"), {}, defaults),
    UsageError,
    "Invalid join code",
  );
  assertThrows(
    () =>
      mergeSettings(
        flags("-d", "s", "--open", "--join", "K7Q4-M2XD-9TPT"),
        {},
        defaults,
      ),
    UsageError,
    "exclude each other",
  );
});

Deno.test("parseFlags() reads the group commands", () => {
  assertEquals(flags("invite", "-d", "s").command, { name: "invite" });
  assertEquals(flags("members", "-d", "s").command, { name: "members" });
  assertEquals(flags("remove", "-d", "s", "ABCD-EFGH-IJKL").command, {
    name: "remove",
    fingerprint: "ABCD-EFGH-IJKL",
  });
  assertThrows(() => flags("remove", "-d", "s"), UsageError, "FINGERPRINT");
  assertEquals(flags("status", "-d", "s").command, {
    name: "status",
    json: false,
  });
  assertEquals(flags("status", "--json", "-d", "s").command, {
    name: "status",
    json: true,
  });
  assertThrows(() => flags("-d", "s", "--json"), UsageError, "status");
  assertThrows(
    () => flags("members", "-d", "s", "--json"),
    UsageError,
    "--json goes with status",
  );
  assertThrows(() => flags("dance", "-d", "s"), UsageError, "commands:");
});

Deno.test("invocationDir() resolves a relative -d against INIT_CWD when deno task set it", () => {
  // deno task runs dsync in the clone; the user typed the command in /home/me.
  const table: [string | undefined, string, string][] = [
    [undefined, "shared", "/clone/shared"],
    ["/home/me", "shared", "/home/me/shared"],
    ["/home/me", "../other/shared", "/home/other/shared"],
    ["/home/me", "/abs/shared", "/abs/shared"],
    ["", "shared", "/clone/shared"],
    ["relative/dir", "shared", "/clone/shared"],
  ];
  for (const [initCwd, path, folder] of table) {
    const cwd = invocationDir(initCwd, "/clone");
    assertEquals(
      mergeSettings(flags("-d", path), {}, { hostname: "h", cwd }).folder,
      folder,
      `INIT_CWD=${initCwd} -d ${path}`,
    );
  }
});

Deno.test("mergeSettings() takes --mode over the file's mode and refuses unknown modes", () => {
  assertEquals(
    mergeSettings(flags("-d", "/x", "--mode", "send-only"), {
      mode: "receive-only",
    }, defaults).mode,
    "send-only",
  );
  assertThrows(
    () => mergeSettings(flags("-d", "/x", "--mode", "backup"), {}, defaults),
    UsageError,
    'Invalid mode "backup" (one of: send-receive, send-only, receive-only)',
  );
});

Deno.test("mergeSettings() resolves --state-dir and refuses one inside the folder", () => {
  assertEquals(
    mergeSettings(
      flags("-d", "/data/pub", "--state-dir", "state"),
      {},
      defaults,
    )
      .stateDir,
    "/home/a/state",
  );
  assertEquals(
    mergeSettings(
      flags("-d", "/data/pub"),
      { state_dir: "/var/dsync" },
      defaults,
    )
      .stateDir,
    "/var/dsync",
  );
  assertThrows(
    () =>
      mergeSettings(
        flags("-d", "/data/pub", "--state-dir", "/data/pub/.state"),
        {},
        defaults,
      ),
    UsageError,
    "The state directory /data/pub/.state is inside the folder /data/pub; choose one outside it",
  );
});
