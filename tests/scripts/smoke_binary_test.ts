import { fileURLToPath } from "node:url";
import { assert } from "../assert.ts";
import { smokeTest } from "../../scripts/smoke_binary.ts";
import { isolatedEnv, RUN_PERMISSIONS } from "../e2e/_dsync.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/**
 * A stand-in for a compiled binary: a shell script that runs main.ts with
 * this process's module cache (the smoke test points HOME elsewhere).
 */
async function fakeBinary(dir: string): Promise<string> {
  const path = `${dir}/dsync`;
  const quoted = [Deno.execPath(), "run", ...RUN_PERMISSIONS, MAIN]
    .map((a) => `'${a}'`).join(" ");
  const denoDir = isolatedEnv(dir).DENO_DIR;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nDENO_DIR='${denoDir}' exec ${quoted} "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test({
  name: "smokeTest() passes a working dsync and fails a broken one",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dsync_smoke_test_" });
    try {
      await smokeTest(await fakeBinary(dir));
      const broken = `${dir}/broken`;
      await Deno.writeTextFile(broken, "#!/bin/sh\necho 'dsync 0.0.0'\n");
      await Deno.chmod(broken, 0o755);
      let failed = false;
      try {
        await smokeTest(broken);
      } catch (err) {
        failed = true;
        assert(String(err).includes("--version printed"), String(err));
      }
      assert(failed, "a wrong version fails the smoke test");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
