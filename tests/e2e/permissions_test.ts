/**
 * dsync under exactly the narrow permission flags the README documents: two
 * real processes sync, and without any one flag dsync refuses to start with
 * one line naming it and exit code 2.
 * @module
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv, runDsync } from "./_dsync.ts";
import { randomBytes, waitIdentical, writeTree } from "./_folders.ts";

const README = new URL("../../README.md", import.meta.url);
const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** The `--allow-*` flags of the README's narrow `deno run` command, with DIR, CONFIG and src in place. */
async function readmeFlags(): Promise<
  (dir: string, config: string) => string[]
> {
  const text = await Deno.readTextFile(README);
  const block = text.match(
    /```sh\ndeno run \\\n([\s\S]*?)main\.ts -d DIR\n```/,
  );
  assert(block, "README has a narrow `deno run … main.ts -d DIR` block");
  const flags = block[1]!.split(/\s+/).filter((t) => t.startsWith("--"));
  assertEquals(flags.map((f) => f.split("=")[0]), [
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-env",
    "--allow-sys",
  ]);
  return (dir, config) =>
    flags.map((f) =>
      f.replace(/(?<==|,)DIR(?=,|$)/, dir)
        .replace(/(?<==|,)CONFIG(?=,|$)/, config)
        .replace(/(?<=,)src$/, SRC)
    );
}

interface Workspace {
  root: string;
  flags: (dir: string, config: string) => string[];
}

async function workspace(): Promise<Workspace> {
  return {
    root: await Deno.makeTempDir({ prefix: "dsync_perm_" }),
    flags: await readmeFlags(),
  };
}

/** Folder, config home (with a dsync.toml naming the node) and env of one node. */
async function node(ws: Workspace, name: string) {
  const dir = `${ws.root}/${name}`;
  const home = `${ws.root}/${name}-home`;
  const config = `${home}/dsync/dsync.toml`;
  await Deno.mkdir(dir);
  await Deno.mkdir(`${home}/dsync`, { recursive: true });
  await Deno.writeTextFile(config, `name = "${name}"\n`);
  return { dir, config, env: isolatedEnv(home), port: freePort() };
}

Deno.test("e2e permissions: two peers with exactly the README's narrow flags sync", async () => {
  const ws = await workspace();
  const procs: DsyncProcess[] = [];
  try {
    const a = await node(ws, "alpha");
    const b = await node(ws, "beta");
    await writeTree(a.dir, {
      "notes.txt": "hello\n".repeat(5000), // compressible: goes as LZ4
      "data/random.bin": randomBytes(600_000, 3), // hashed on the worker pool
    });
    await writeTree(b.dir, { "from-b.txt": "b" });
    for (const [self, other] of [[a, b], [b, a]] as const) {
      procs.push(
        new DsyncProcess([
          "-d",
          self.dir,
          "-p",
          String(self.port),
          "--no-discovery",
          "-a",
          `127.0.0.1:${other.port}`,
        ], { permissions: ws.flags(self.dir, self.config), env: self.env }),
      );
    }
    // The name comes from each node's dsync.toml: the config was readable.
    await procs[0]!.waitForOutput(/as \S+ \(alpha[,)]/, 30_000);
    await procs[1]!.waitForOutput(/as \S+ \(beta[,)]/, 30_000);
    const snap = await waitIdentical(a.dir, b.dir, {
      procs,
      timeoutMs: 40_000,
      check: (s) => s.has("notes.txt") && s.has("from-b.txt"),
    });
    assert(snap.has("data/random.bin"));
    for (const proc of procs) {
      assert(!/NotCapable|Permission denied/.test(proc.output), proc.output);
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await Deno.remove(ws.root, { recursive: true });
  }
});

Deno.test("e2e permissions: without any one flag dsync prints one line naming it and exits 2", async () => {
  const ws = await workspace();
  try {
    const n = await node(ws, "solo");
    const all = ws.flags(n.dir, n.config);
    const without = (prefix: string) =>
      all.filter((f) => !f.startsWith(prefix));
    const cases: {
      label: string;
      flags: string[];
      names: RegExp;
      discovery?: boolean;
    }[] = [
      {
        label: "no --allow-read",
        flags: without("--allow-read"),
        names: /--allow-read\b/,
      },
      {
        label: "--allow-read without the config file",
        flags: [...without("--allow-read"), `--allow-read=${n.dir},${SRC}`],
        names: /--allow-read \(read access to "[^"]*dsync\.toml"\)/,
      },
      {
        label: "--allow-read without the folder",
        flags: [...without("--allow-read"), `--allow-read=${n.config},${SRC}`],
        names: /--allow-read \(read access to "[^"]*solo"\)/,
      },
      {
        label: "no --allow-write",
        flags: without("--allow-write"),
        names: /--allow-write\b/,
      },
      {
        label: "no --allow-net",
        flags: without("--allow-net"),
        names: /--allow-net\b/,
      },
      {
        label: "no --allow-env",
        flags: without("--allow-env"),
        names: /--allow-env\b/,
      },
      {
        label: "no --allow-sys",
        flags: without("--allow-sys"),
        names: /--allow-sys\b/,
      },
      {
        label: "discovery without sys networkInterfaces",
        flags: [...without("--allow-sys"), "--allow-sys=hostname"],
        names: /--allow-sys \(sys access to "networkInterfaces"\)/,
        discovery: true,
      },
    ];
    const results = await Promise.all(cases.map((c) =>
      runDsync([
        "-d",
        n.dir,
        "-p",
        String(freePort()),
        ...(c.discovery ? [] : ["--no-discovery"]),
      ], { permissions: c.flags, env: n.env, timeoutMs: 40_000 })
    ));
    for (const [i, c] of cases.entries()) {
      const r = results[i]!;
      const lines = r.stderr.trimEnd().split("\n");
      assertEquals(r.code, 2, `${c.label}: ${r.stderr}`);
      assertEquals(r.stdout, "", c.label);
      assertEquals(lines.length, 1, `${c.label}: ${r.stderr}`);
      assert(lines[0]!.startsWith("dsync: Permission denied: "), lines[0]);
      assert(c.names.test(lines[0]!), `${c.label}: ${lines[0]}`);
      assert(!/\n\s+at /.test(r.stderr), `${c.label}: stack trace`);
    }
  } finally {
    await Deno.remove(ws.root, { recursive: true });
  }
});
