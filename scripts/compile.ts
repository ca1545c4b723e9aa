/**
 * Builds single-file dsync binaries with `deno compile`, one per target:
 * `dist/dsync-<version>-<target>[.exe]`.
 *
 *   deno task compile              build every target
 *   deno task compile --dry-run    print the commands only
 *   deno task compile --target x86_64-unknown-linux-gnu
 *
 * The binary built for this machine's own target is then smoke-tested
 * (`scripts/smoke_binary.ts`: `--version`, then two instances syncing over
 * loopback) unless `--skip-smoke` is given. `deno compile` downloads the
 * runtime of each target (`denort`) from dl.deno.land, or takes it from
 * `DENORT_BIN` for a single target.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import denoJson from "../deno.json" with { type: "json" };
import { smokeTest } from "./smoke_binary.ts";

/** The repository root: the paths below are relative to it. */
const ROOT = new URL("../", import.meta.url);

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
export type Target = typeof TARGETS[number];

/**
 * The permissions baked into the binaries: the folder is chosen at run time,
 * so read/write cannot name it here; env and sys are limited to the names
 * dsync reads.
 */
export const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env=HOME,XDG_CONFIG_HOME,APPDATA,USERPROFILE",
  "--allow-sys=hostname,networkInterfaces,statfs",
];

/**
 * A young generation capped at 4 MiB per semi-space, and an old generation
 * that grows to 1.3 times what is live before the next full collection (V8
 * otherwise lets it reach up to four times that). Against V8's own sizing,
 * growing to twice what is live (the flag at 100) took a cold scan of
 * 100,000 files from 149 MiB of RSS to 94 (`deno task bench scan`) and a
 * receiver of 20,000 small files from 206-221 MB to 160-165, for ~0.3
 * CPU-s more of incremental marking. At 30 instead of 100 the initial sync
 * of 100,000 files of 1 KiB peaked at 189/208 MB (sender/receiver) instead
 * of 208-227/248-259, for the same CPU seconds within noise (49-51 s /
 * 109-113 s; issue #21). The same flags are in `deno task start`.
 */
export const V8_FLAGS =
  "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=30";

/** Modules loaded at run time by URL (workers), which compile must embed. */
export const INCLUDES = [
  "src/index/hasher_worker.ts",
  "src/watch/watch_worker.ts",
];

/** Where the binary of `target` is written. */
export function outputPath(target: Target, version: string): string {
  const exe = target.includes("windows") ? ".exe" : "";
  return `dist/dsync-${version}-${target}${exe}`;
}

/** The `deno compile` argument list for one target. */
export function compileArgs(target: Target, version: string): string[] {
  return [
    "compile",
    V8_FLAGS,
    ...PERMISSIONS,
    ...INCLUDES.flatMap((file) => ["--include", file]),
    "--target",
    target,
    "--output",
    outputPath(target, version),
    "main.ts",
  ];
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./=,:-]+$/.test(arg)
    ? arg
    : `'${arg.replaceAll("'", "'\\''")}'`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "dry-run": { type: "boolean" },
      "skip-smoke": { type: "boolean" },
      target: { type: "string", multiple: true },
    },
  });
  const wanted = (values.target ?? [...TARGETS]) as Target[];
  for (const target of wanted) {
    if (!TARGETS.includes(target)) {
      console.error(
        `compile: unknown target "${target}" (known: ${TARGETS.join(", ")})`,
      );
      Deno.exit(2);
    }
  }
  for (const target of wanted) {
    const args = compileArgs(target, denoJson.version);
    console.log(["deno", ...args].map(quote).join(" "));
    if (values["dry-run"]) continue;
    const { code } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
    }).spawn().status;
    if (code !== 0) {
      console.error(
        `compile: deno compile failed for ${target} (exit ${code})`,
      );
      Deno.exit(1);
    }
    if (target === Deno.build.target && !values["skip-smoke"]) {
      try {
        await smokeTest(
          fileURLToPath(new URL(outputPath(target, denoJson.version), ROOT)),
        );
      } catch (err) {
        console.error(
          `compile: smoke test of ${target} failed: ${
            err instanceof Error ? err.message : err
          }`,
        );
        Deno.exit(1);
      }
    }
  }
}
