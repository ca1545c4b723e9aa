import { assert, assertEquals } from "../assert.ts";
import { compileArgs, INCLUDES, TARGETS } from "../../scripts/compile.ts";
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

Deno.test("deno task compile --dry-run prints one deno compile command per target", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../scripts/compile.ts", import.meta.url).pathname,
      "--dry-run",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  assertEquals(lines.length, TARGETS.length);
  for (const [i, target] of TARGETS.entries()) {
    assert(lines[i]!.startsWith("deno compile "), lines[i]);
    assert(lines[i]!.includes(`--target ${target}`), lines[i]);
  }
});
