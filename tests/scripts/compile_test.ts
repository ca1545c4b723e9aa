import { assert, assertEquals } from "../assert.ts";
import {
  compileArgs,
  INCLUDES,
  outputPath,
  PERMISSIONS,
  TARGETS,
} from "../../scripts/compile.ts";
import denoJson from "../../deno.json" with { type: "json" };

Deno.test("compileArgs() builds a versioned binary per target with narrow permissions", () => {
  assertEquals(TARGETS.length, 5);
  for (const target of TARGETS) {
    const args = compileArgs(target, denoJson.version);
    assertEquals(args[0], "compile");
    assertEquals(args.at(-1), "main.ts");
    assert(
      !args.includes("-A") && !args.includes("--allow-all"),
      "no blanket permission",
    );
    for (const flag of ["--allow-read", "--allow-write", "--allow-net"]) {
      assert(args.includes(flag), flag);
    }
    const output = args[args.indexOf("--output") + 1]!;
    const exe = target.includes("windows") ? ".exe" : "";
    assertEquals(output, `dist/dsync-${denoJson.version}-${target}${exe}`);
    assertEquals(args[args.indexOf("--target") + 1], target);
    for (const file of INCLUDES) assert(args.includes(file), file);
  }
});

Deno.test("every module compile must embed exists", async () => {
  for (const file of INCLUDES) {
    const info = await Deno.stat(new URL(`../../${file}`, import.meta.url));
    assert(info.isFile, file);
  }
});

async function compileScript(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../scripts/compile.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("deno task compile --dry-run prints the exact deno compile command of every target", async () => {
  const { code, stdout, stderr } = await compileScript("--dry-run");
  assertEquals(code, 0, stderr);
  const v = denoJson.version;
  const common =
    "deno compile --v8-flags=--max-semi-space-size=4,--heap-growing-percent=30 " +
    "--allow-read --allow-write --allow-net " +
    "--allow-env=HOME,XDG_CONFIG_HOME,APPDATA,USERPROFILE " +
    "--allow-sys=hostname,networkInterfaces,statfs " +
    "--include src/index/hasher_worker.ts --include src/watch/watch_worker.ts";
  assertEquals(stdout.trim().split("\n"), [
    `${common} --target x86_64-unknown-linux-gnu --output dist/dsync-${v}-x86_64-unknown-linux-gnu main.ts`,
    `${common} --target aarch64-unknown-linux-gnu --output dist/dsync-${v}-aarch64-unknown-linux-gnu main.ts`,
    `${common} --target x86_64-apple-darwin --output dist/dsync-${v}-x86_64-apple-darwin main.ts`,
    `${common} --target aarch64-apple-darwin --output dist/dsync-${v}-aarch64-apple-darwin main.ts`,
    `${common} --target x86_64-pc-windows-msvc --output dist/dsync-${v}-x86_64-pc-windows-msvc.exe main.ts`,
  ]);
});

Deno.test("deno task compile --dry-run --target builds only that target; an unknown one exits 2", async () => {
  const one = await compileScript(
    "--dry-run",
    "--target",
    "aarch64-apple-darwin",
  );
  assertEquals(one.code, 0, one.stderr);
  assertEquals(
    one.stdout.trim(),
    ["deno", ...compileArgs("aarch64-apple-darwin", denoJson.version)].join(
      " ",
    ),
  );
  const bad = await compileScript("--dry-run", "--target", "riscv64-linux");
  assertEquals(bad.code, 2);
  assertEquals(bad.stdout, "");
  assert(bad.stderr.includes('unknown target "riscv64-linux"'), bad.stderr);
});

Deno.test("outputPath() names binaries dsync-<version>-<target>[.exe]", () => {
  assertEquals(
    outputPath("x86_64-pc-windows-msvc", "1.2.3"),
    "dist/dsync-1.2.3-x86_64-pc-windows-msvc.exe",
  );
  assertEquals(
    outputPath("aarch64-apple-darwin", "1.2.3"),
    "dist/dsync-1.2.3-aarch64-apple-darwin",
  );
});

Deno.test("the binaries carry the README's env and sys lists, and no other permission", async () => {
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  for (const kind of ["env", "sys"]) {
    const documented = readme.match(
      new RegExp(`^  (--allow-${kind}=\\S+) \\\\$`, "m"),
    )?.[1];
    assert(documented, `README documents --allow-${kind}`);
    assert(PERMISSIONS.includes(documented), documented);
  }
  assertEquals(
    PERMISSIONS.map((p) => p.split("=")[0]),
    [
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
    ],
  );
});
