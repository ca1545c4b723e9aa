/**
 * Nothing is fetched at run time: with a fresh module cache filled by
 * `deno cache main.ts` (what `deno compile` embeds), two instances run with
 * `--cached-only` and a dead HTTP proxy, and sync.
 * @module
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { DsyncProcess, freePort, RUN_PERMISSIONS } from "./_dsync.ts";
import { randomBytes, waitIdentical, writeTree } from "./_folders.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

Deno.test("e2e cached-only: two instances start and sync from a cache filled by deno cache main.ts", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync_cached_" });
  const procs: DsyncProcess[] = [];
  try {
    const denoDir = `${root}/deno_dir`;
    const cache = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "main.ts"],
      cwd: ROOT,
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assertEquals(
      cache.code,
      0,
      `deno cache failed: ${new TextDecoder().decode(cache.stderr)}`,
    );

    const env = {
      DENO_DIR: denoDir,
      HOME: `${root}/home`,
      XDG_CONFIG_HOME: `${root}/home`,
      NO_COLOR: "1",
      // Any download attempt would go to a dead proxy.
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
    };
    const nodes = ["a", "b"].map((name) => ({
      dir: `${root}/${name}`,
      port: freePort(),
    }));
    for (const node of nodes) await Deno.mkdir(node.dir);
    await Deno.mkdir(`${root}/home`);
    await writeTree(nodes[0]!.dir, {
      "readme.txt": "offline\n".repeat(2000),
      "blob.bin": randomBytes(500_000, 11), // hashed on the worker pool
    });
    for (const [self, other] of [[0, 1], [1, 0]] as const) {
      procs.push(
        new DsyncProcess([
          "-d",
          nodes[self]!.dir,
          "-p",
          String(nodes[self]!.port),
          "--no-discovery",
          "-a",
          `127.0.0.1:${nodes[other]!.port}`,
        ], {
          permissions: ["--cached-only", ...RUN_PERMISSIONS],
          env,
        }),
      );
    }
    const snap = await waitIdentical(nodes[0]!.dir, nodes[1]!.dir, {
      procs,
      timeoutMs: 40_000,
      check: (s) => s.has("blob.bin") && s.has("readme.txt"),
    });
    assert(snap.get("blob.bin")?.startsWith("file:false:500000"));
    for (const proc of procs) {
      assert(
        !/unreadable|Uncaught|Failed caching/.test(proc.output),
        proc.output,
      );
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await Deno.remove(root, { recursive: true });
  }
});
