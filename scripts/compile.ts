/**
 * Builds single-file dsync binaries with `deno compile`, one per target:
 * `dist/dsync-<version>-<target>[.exe]`.
 *
 *   deno task compile              build every target
 *   deno task compile --dry-run    print the commands only
 *   deno task compile --target x86_64-unknown-linux-gnu
 *
 * @module
 */
import { parseArgs } from "node:util";
import denoJson from "../deno.json" with { type: "json" };

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
  "--allow-sys=hostname,networkInterfaces",
];

/**
 * A young generation capped at 4 MiB per semi-space: a scan of 100,000 files
 * peaks near 130 MB of RSS instead of 180 MB (`deno task bench scan`).
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

/** Modules loaded at run time by URL (workers), which compile must embed. */
export const INCLUDES = ["src/index/hasher_worker.ts"];

/** The `deno compile` argument list for one target. */
export function compileArgs(target: Target, version: string): string[] {
  const exe = target.includes("windows") ? ".exe" : "";
  return [
    "compile",
    V8_FLAGS,
    ...PERMISSIONS,
    ...INCLUDES.flatMap((file) => ["--include", file]),
    "--target",
    target,
    "--output",
    `dist/dsync-${version}-${target}${exe}`,
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
    const { code } = await new Deno.Command(Deno.execPath(), { args }).spawn()
      .status;
    if (code !== 0) {
      console.error(
        `compile: deno compile failed for ${target} (exit ${code})`,
      );
      Deno.exit(1);
    }
  }
}
