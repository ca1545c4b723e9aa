/**
 * The default cap on versions (a tenth of the file system) is known under
 * the permissions dsync runs with: without `statfs` it silently became no
 * cap at all.
 * @module
 */
import { assert } from "../assert.ts";
import { RUN_PERMISSIONS } from "../e2e/_dsync.ts";

Deno.test("defaultMaxBytes() is a tenth of the file system under dsync's own permissions", async () => {
  const settings = new URL("../../src/versions/settings.ts", import.meta.url)
    .href;
  const code = `import { defaultMaxBytes } from ${JSON.stringify(settings)};
console.log(defaultMaxBytes(${JSON.stringify(Deno.cwd())}));`;
  // `deno eval` would run with every permission: a file under `deno run`.
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  let out: Deno.CommandOutput;
  try {
    await Deno.writeTextFile(script, code);
    out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        ...RUN_PERMISSIONS,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(script);
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const bytes = Number(text);
  assert(Number.isFinite(bytes) && bytes > 0, `defaultMaxBytes gave ${text}`);
});
