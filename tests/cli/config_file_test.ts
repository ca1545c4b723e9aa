import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  defaultConfigPath,
  loadConfig,
  parseConfig,
  UsageError,
} from "../../src/cli/mod.ts";

Deno.test("parseConfig() reads every known key", () => {
  const config = parseConfig(
    `path = "/data/shared"
port = 9100
name = "nas"
peer = ["10.0.0.2:9000", "[::1]:9001"]
exclude = "*.iso"
no_discovery = true
verbose = false
max_concurrent_transfers = 8
`,
    "/etc/dsync.toml",
  );
  assertEquals(config, {
    path: "/data/shared",
    port: 9100,
    name: "nas",
    peer: ["10.0.0.2:9000", "[::1]:9001"],
    exclude: ["*.iso"],
    no_discovery: true,
    verbose: false,
    max_concurrent_transfers: 8,
  });
});

Deno.test("parseConfig() resolves a relative path against the file's folder", () => {
  assertEquals(
    parseConfig(`path = "shared"`, "/home/ann/.config/dsync/dsync.toml").path,
    "/home/ann/.config/dsync/shared",
  );
});

Deno.test("parseConfig() names the key and the file for bad values", () => {
  const file = "/x/dsync.toml";
  const table: [string, string][] = [
    [`colour = "blue"`, `Unknown key "colour" in config file ${file}`],
    [`port = "9000"`, `Invalid value for "port" in config file ${file}`],
    [`port = 0`, `Invalid value for "port"`],
    [`port = 70000`, `Invalid value for "port"`],
    [`port = 1.5`, `Invalid value for "port"`],
    [`peer = [1, 2]`, `Invalid value for "peer"`],
    [`no_discovery = "yes"`, `Invalid value for "no_discovery"`],
    [
      `max_concurrent_transfers = 0`,
      `Invalid value for "max_concurrent_transfers"`,
    ],
    [
      `max_concurrent_transfers = 1000`,
      `Invalid value for "max_concurrent_transfers"`,
    ],
    [`name = ""`, `Invalid value for "name"`],
    [`path = 3`, `Invalid value for "path"`],
  ];
  for (const [text, message] of table) {
    assertThrows(() => parseConfig(text, file), UsageError, message, text);
  }
});

Deno.test("parseConfig() reports TOML syntax errors with their line", () => {
  const error = assertThrows(
    () => parseConfig(`port = 9000\nname = "a"\npeer = [\n`, "/x/dsync.toml"),
    UsageError,
    "Syntax error in config file /x/dsync.toml at line",
  );
  assertEquals(error.message.includes("\n"), false);
  assertThrows(
    () => parseConfig(`port = 9000\nname = = "a"\n`, "/x/dsync.toml"),
    UsageError,
    "at line 2",
  );
});

Deno.test("defaultConfigPath() follows XDG, HOME and APPDATA", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(
    defaultConfigPath(
      env({ XDG_CONFIG_HOME: "/cfg", HOME: "/home/a" }),
      "linux",
    ),
    "/cfg/dsync/dsync.toml",
  );
  assertEquals(
    defaultConfigPath(env({ HOME: "/home/a" }), "linux"),
    "/home/a/.config/dsync/dsync.toml",
  );
  assertEquals(
    defaultConfigPath(
      env({ XDG_CONFIG_HOME: "relative", HOME: "/Users/a" }),
      "darwin",
    ),
    "/Users/a/.config/dsync/dsync.toml",
  );
  assertEquals(defaultConfigPath(env({}), "linux"), null);
  const windows = defaultConfigPath(
    env({ APPDATA: "C:\\Users\\a\\AppData\\Roaming" }),
    "windows",
  );
  assertEquals(windows?.endsWith("dsync.toml"), true);
  assertEquals(windows?.includes("dsync"), true);
});

Deno.test("loadConfig() allows a missing default file but not a missing --config file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await loadConfig(`${dir}/none.toml`, false), {});
    await assertRejects(
      () => loadConfig(`${dir}/none.toml`, true),
      UsageError,
      "does not exist",
    );
    await Deno.writeTextFile(`${dir}/dsync.toml`, "port = 9200\n");
    assertEquals(await loadConfig(`${dir}/dsync.toml`, true), { port: 9200 });
    await assertRejects(
      () => loadConfig(dir, true),
      UsageError,
      "is a directory",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
