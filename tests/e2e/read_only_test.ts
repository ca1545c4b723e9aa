/**
 * End-to-end: a folder on a read-only file system (a read-only bind mount
 * in a mount namespace of the test's own) is refused with one line and
 * exit 2, not a stack trace or an internal path.
 * @module
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, runDsync } from "./_dsync.ts";

/** The reason read-only mounts cannot be made here, or undefined when they can. */
async function mountsUnavailable(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", "mount -t tmpfs none /mnt"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success
      ? undefined
      : "unshare -m cannot mount here (no CAP_SYS_ADMIN)";
  } catch {
    return "unshare is not installed";
  }
}

const skip = await mountsUnavailable();

Deno.test({
  name: `read-only: a folder on a read-only mount is one line and exit 2${
    skip === undefined ? "" : ` (skipped: ${skip})`
  }`,
  ignore: skip !== undefined,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "dsync_ro_" });
    try {
      await Deno.mkdir(`${root}/data`);
      await Deno.mkdir(`${root}/view`);
      await Deno.writeTextFile(`${root}/data/a.txt`, "published\n");
      const view = `${root}/view`;
      const out = await runDsync(
        ["-d", view, "-p", String(freePort()), "--no-discovery"],
        {
          group: false,
          timeoutMs: 30_000,
          wrapper: [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind "$0" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"',
            `${root}/data`,
            view,
          ],
        },
      );
      assertEquals(out.code, 2, out.stderr);
      assertEquals(out.stderr.split("\n").length, 2, out.stderr);
      assertMatch(
        out.stderr,
        /^dsync: Folder \S+\/view is read-only: dsync keeps its index, keys and versions in \S+\/view\/\.dsync and cannot write there/,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
