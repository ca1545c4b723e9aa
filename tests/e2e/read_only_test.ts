/**
 * End-to-end: a folder on a read-only file system (a read-only bind mount
 * in a mount namespace of the test's own) is refused with one line and
 * exit 2, not a stack trace or an internal path.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  DsyncProcess,
  freePort,
  RUN_PERMISSIONS,
  runDsync,
  seedGroup,
  TEST_GROUP,
} from "./_dsync.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { waitFor } from "../_wait.ts";
import { IndexStore } from "../../src/index/mod.ts";

/** A command prefix that runs the rest with `data` mounted read-only on `view`. */
function readOnlyMount(data: string, view: string): string[] {
  return [
    "unshare",
    "-m",
    "sh",
    "-c",
    'mount --bind "$0" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"',
    data,
    view,
  ];
}

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
          wrapper: readOnlyMount(`${root}/data`, view),
        },
      );
      assertEquals(out.code, 2, out.stderr);
      assertEquals(out.stderr.split("\n").length, 2, out.stderr);
      assertMatch(
        out.stderr,
        /^dsync: Folder \S+\/view is read-only: dsync keeps its index, keys and versions in \S+\/view\/\.dsync and cannot write there \(give --state-dir DIR to keep them elsewhere\)$/m,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    `read-only: a send-only folder on a read-only mount serves its files with --state-dir${
      skip === undefined ? "" : ` (skipped: ${skip})`
    }`,
  ignore: skip !== undefined,
  fn: async () => {
    await using mesh = await Mesh.create(["beta"]);
    const [b] = mesh.nodes as [MeshNode];
    const data = `${mesh.root}/data`;
    const view = `${mesh.root}/view`;
    const state = `${mesh.root}/state`;
    await Deno.mkdir(data);
    await Deno.mkdir(view);
    await Deno.mkdir(`${data}/docs`);
    await Deno.writeTextFile(`${data}/docs/a.txt`, "published\n");
    await Deno.mkdir(state);
    seedGroup(["-d", state], TEST_GROUP);
    mesh.start(b, []);
    const alpha = new DsyncProcess([
      "-d",
      view,
      "--state-dir",
      state,
      "--mode",
      "send-only",
      "-p",
      String(freePort()),
      "-n",
      "alpha",
      "--no-discovery",
      "-a",
      `127.0.0.1:${b.port}`,
    ], {
      permissions: RUN_PERMISSIONS,
      env: mesh.env,
      group: false,
      wrapper: readOnlyMount(data, view),
    });
    try {
      await waitFor(
        async () =>
          await Deno.readTextFile(`${b.dir}/docs/a.txt`).catch(() => "") ===
            "published\n",
        () => `docs/a.txt on beta; alpha said:\n${alpha.output}`,
        30_000,
        50,
      );
      // Everything of dsync's went to the state directory.
      const names: string[] = [];
      for await (const e of Deno.readDir(data)) names.push(e.name);
      assertEquals(names, ["docs"]);
      assert((await Deno.stat(`${state}/.dsync/index.db`)).isFile);
      const status = await runDsync(
        ["status", "-d", view, "--state-dir", state],
        { env: mesh.env, group: false },
      );
      assertEquals(status.code, 0, status.stderr);
      assertMatch(status.stdout, /send-only: 0 files differ from the group/);
    } finally {
      assertEquals(await alpha.stop("SIGTERM"), 0, alpha.output);
    }
  },
});

Deno.test("state dir: a folder found empty while its index (kept elsewhere) holds files is refused, and nothing is recorded as deleted", async () => {
  await using mesh = await Mesh.create(["alpha"]);
  const data = `${mesh.root}/data`;
  const state = `${mesh.root}/state`;
  await Deno.mkdir(`${data}/docs`, { recursive: true });
  await Deno.writeTextFile(`${data}/docs/a.txt`, "a\n");
  await Deno.writeTextFile(`${data}/b.txt`, "b\n");
  await Deno.mkdir(state);
  seedGroup(["-d", state], TEST_GROUP);
  const args = [
    "-d",
    data,
    "--state-dir",
    state,
    "-p",
    String(freePort()),
    "-n",
    "alpha",
    "--no-discovery",
  ];
  const first = new DsyncProcess(args, {
    permissions: RUN_PERMISSIONS,
    env: mesh.env,
    group: false,
  });
  await first.waitForOutput(/Indexed 2 files/, 30_000);
  assertEquals(await first.stop("SIGTERM"), 0, first.output);
  // The disk is not mounted: the mount point is an empty directory.
  await Deno.rename(data, `${mesh.root}/unmounted`);
  await Deno.mkdir(data);
  const out = await runDsync(args, {
    env: mesh.env,
    group: false,
    timeoutMs: 30_000,
  });
  assertEquals(out.code, 2, out.stderr);
  assertEquals(out.stderr.split("\n").length, 2, out.stderr);
  assertMatch(
    out.stderr,
    /^dsync: Folder \S+\/data is empty but its index holds 3 entries: is its disk mounted\? Stopped without sending any deletions/m,
  );
  // Nothing written into the mount point, no tombstone in the index.
  const names: string[] = [];
  for await (const e of Deno.readDir(data)) names.push(e.name);
  assertEquals(names, []);
  const store = IndexStore.open(state);
  try {
    assertEquals(
      store.since(0, 1000).filter((r) => r.deleted).map((r) => r.path),
      [],
    );
  } finally {
    store.close();
  }
});

Deno.test({
  name:
    `state dir: the case probe of a read-only folder looks up an entry in swapped case${
      skip === undefined ? "" : ` (skipped: ${skip})`
    }`,
  ignore: skip !== undefined,
  fn: async () => {
    await using mesh = await Mesh.create(["alpha"]);
    const data = `${mesh.root}/data`;
    const view = `${mesh.root}/view`;
    const state = `${mesh.root}/state`;
    await Deno.mkdir(`${data}/Docs`, { recursive: true });
    await Deno.writeTextFile(`${data}/Docs/a.txt`, "a\n");
    await Deno.mkdir(view);
    await Deno.mkdir(state);
    seedGroup(["-d", state], TEST_GROUP);
    const alpha = new DsyncProcess([
      "-d",
      view,
      "--state-dir",
      state,
      "--mode",
      "send-only",
      "-p",
      String(freePort()),
      "-n",
      "alpha",
      "--no-discovery",
      "-v",
    ], {
      permissions: RUN_PERMISSIONS,
      env: mesh.env,
      group: false,
      wrapper: readOnlyMount(data, view),
    });
    try {
      await alpha.waitForOutput(
        /Names in \S+\/view are case-sensitive \(probed: looked up Docs as dOCS\)/,
        30_000,
      );
      await alpha.waitForOutput(/Indexed 1 file/, 30_000);
    } finally {
      assertEquals(await alpha.stop("SIGTERM"), 0, alpha.output);
    }
    // An empty read-only folder cannot be probed: the reason is logged.
    await Deno.remove(`${data}/Docs`, { recursive: true });
    await Deno.remove(`${state}/.dsync`, { recursive: true });
    seedGroup(["-d", state], TEST_GROUP);
    const empty = new DsyncProcess([
      "-d",
      view,
      "--state-dir",
      state,
      "--mode",
      "send-only",
      "-p",
      String(freePort()),
      "-n",
      "alpha",
      "--no-discovery",
    ], {
      permissions: RUN_PERMISSIONS,
      env: mesh.env,
      group: false,
      wrapper: readOnlyMount(data, view),
    });
    try {
      await empty.waitForOutput(
        /Names in \S+\/view are case-sensitive \(not probed: the folder holds no name with letters and cannot be written \(.+\); assumed case-sensitive\)/,
        30_000,
      );
    } finally {
      assertEquals(await empty.stop("SIGTERM"), 0, empty.output);
    }
  },
});
