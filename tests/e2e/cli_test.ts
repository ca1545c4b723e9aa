import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv, runDsync } from "./_dsync.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A usage error: exit 2 and exactly one line on stderr, no stack trace. */
function assertUsageError(
  result: { code: number; stderr: string },
  includes: string,
): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assertStringIncludes(lines[0]!, includes);
  assert(!result.stderr.includes("    at "), "stack trace printed");
}

Deno.test("dsync --version and --help exit 0", async () => {
  await withTempDir(async (home) => {
    const version = await runDsync(["--version"], { env: isolatedEnv(home) });
    assertEquals(version.code, 0);
    assertMatch(version.stdout, /^dsync \d+\.\d+\.\d+\n$/);
    const help = await runDsync(["--help"], { env: isolatedEnv(home) });
    assertEquals(help.code, 0);
    for (
      const flag of [
        "--path",
        "--port",
        "--name",
        "--peer",
        "--exclude",
        "--no-discovery",
        "--verbose",
        "--config",
      ]
    ) {
      assertStringIncludes(help.stdout, flag);
    }
  });
});

Deno.test("dsync refuses bad input with one line and exit code 2", async () => {
  await withTempDir(async (dir) => {
    const env = isolatedEnv(dir);
    await Deno.writeTextFile(`${dir}/file.txt`, "x");
    await Deno.mkdir(`${dir}/shared`);
    await Deno.writeTextFile(
      `${dir}/syntax.toml`,
      `port = 9000\nname = = "x"\n`,
    );
    await Deno.writeTextFile(`${dir}/unknown.toml`, `colour = "blue"\n`);
    await Deno.writeTextFile(`${dir}/type.toml`, `port = "high"\n`);
    const table: [string[], string][] = [
      [[], "Missing folder"],
      [["-d", `${dir}/none`], "does not exist"],
      [["-d", `${dir}/file.txt`], "is not a folder"],
      [["-d", `${dir}/shared`, "-p", "0"], 'Invalid port "0"'],
      [["-d", `${dir}/shared`, "-p", "65536"], 'Invalid port "65536"'],
      [
        ["-d", `${dir}/shared`, "-a", "hostonly"],
        'Invalid peer address "hostonly"',
      ],
      [["-d", `${dir}/shared`, "-a", "h:x"], 'Invalid peer address "h:x"'],
      [["-d", `${dir}/shared`, "--bogus"], 'Unknown option "--bogus"'],
      [["-d", `${dir}/shared`, "--config", `${dir}/syntax.toml`], "at line 2"],
      [
        ["-d", `${dir}/shared`, "--config", `${dir}/unknown.toml`],
        `Unknown key "colour" in config file ${dir}/unknown.toml`,
      ],
      [
        ["-d", `${dir}/shared`, "--config", `${dir}/type.toml`],
        `Invalid value for "port"`,
      ],
      [
        ["-d", `${dir}/shared`, "--config", `${dir}/missing.toml`],
        "does not exist",
      ],
    ];
    for (const [args, message] of table) {
      assertUsageError(await runDsync(args, { env }), message);
    }
  });
});

Deno.test("dsync names the permission Deno refused and exits 2", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/shared`);
    const env = isolatedEnv(dir);
    const noWrite = await runDsync(["-d", `${dir}/shared`, "--no-discovery"], {
      env,
      permissions: [
        "--allow-read",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
      ],
    });
    assertUsageError(noWrite, "--allow-write");
    const noEnv = await runDsync(["-d", `${dir}/shared`], {
      env,
      permissions: [
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-sys",
      ],
    });
    assertUsageError(noEnv, "--allow-env");
  });
});

Deno.test("a second dsync on the same folder stops with one line and exit 2", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/shared`);
    const env = isolatedEnv(dir);
    const first = new DsyncProcess(
      ["-d", `${dir}/shared`, "-p", String(freePort()), "--no-discovery"],
      { env },
    );
    try {
      await first.waitForOutput(/Listening on port/);
      const second = await runDsync(
        ["-d", `${dir}/shared`, "-p", String(freePort()), "--no-discovery"],
        { env },
      );
      assertUsageError(second, "is already syncing");
      assertStringIncludes(second.stderr, `(pid `);
    } finally {
      await first.stop();
    }
    // Once the first has stopped, the folder is free again.
    const again = new DsyncProcess(
      ["-d", `${dir}/shared`, "-p", String(freePort()), "--no-discovery"],
      { env },
    );
    try {
      await again.waitForOutput(/Listening on port/);
    } finally {
      await again.stop();
    }
  });
});

Deno.test("dsync on a port that is taken stops with one line and exit 2", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/shared`);
    const taken = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const result = await runDsync(
        ["-d", `${dir}/shared`, "-p", String(port), "--no-discovery"],
        { env: isolatedEnv(dir) },
      );
      assertUsageError(result, `Cannot listen on port ${port}: it is in use`);
      // Nothing was done to the folder before the port was checked.
      assertEquals(
        [...Deno.readDirSync(`${dir}/shared`)].map((e) => e.name).sort(),
        [".dsync"],
      );
    } finally {
      taken.close();
    }
  });
});
