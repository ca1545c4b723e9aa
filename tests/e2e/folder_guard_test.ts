/**
 * End-to-end: a folder that disappears under a running dsync (moved away,
 * unmounted) stops that dsync with one error line, and its peer keeps every
 * file.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { IndexStore } from "../../src/index/store.ts";
import {
  diffSnapshots,
  randomBytes,
  type Snapshot,
  snapshot,
  SyncPair,
  writeTree,
} from "./_folders.ts";

const GONE_LINE =
  /Folder (\S+) is gone or was replaced \(unmounted or moved\?\)/g;

/** How long A is watched for deletions after B stopped. */
const HOLD_MS = 3000;

const TREE = {
  "a.txt": "alpha\n",
  "b.bin": randomBytes(300_000, 3),
  "nested/deeper/c.md": "# c\n",
  "nested/d.txt": "d",
  "run.sh": { data: "#!/bin/sh\n", exec: true },
};

/** Tombstones in a stopped node's index at `folder`. */
function tombstones(folder: string): string[] {
  const store = IndexStore.open(folder);
  try {
    return store.since(0, 1_000_000).filter((r) => r.deleted).map((r) =>
      r.path
    );
  } finally {
    store.close();
  }
}

/** Polls A for `HOLD_MS`, failing at the first difference from `expected`. */
async function assertKeeps(dir: string, expected: Snapshot): Promise<void> {
  const deadline = Date.now() + HOLD_MS;
  do {
    const diff = diffSnapshots(expected, await snapshot(dir));
    assertEquals(diff, [], `${dir} changed after its peer stopped`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < deadline);
}

/**
 * B's folder vanishes (`vanish`), then: B exits 1 with one line naming its
 * folder, its index holds no tombstone, and A keeps every file.
 */
async function expectGuardStop(
  pair: SyncPair,
  vanish: () => Promise<void>,
  indexAfter: string,
): Promise<void> {
  await writeTree(pair.a.dir, TREE, ["empty-dir"]);
  pair.startBoth();
  const synced = await pair.identical();
  const a = pair.a.proc!;
  const b = pair.b.proc!;

  await vanish();
  const code = await b.exitCode();
  pair.b.proc = undefined;
  const lines = [...b.output.matchAll(GONE_LINE)];
  assertEquals(lines.length, 1, b.output);
  assertEquals(lines[0]![1], pair.b.dir, b.output);
  assertEquals(code, 1, b.output);
  assert(
    /^dsync: error: .*stopped without sending any deletions$/m.test(b.output),
  );

  await a.waitForOutput(/Peer "?beta"? .* disconnected/);
  await assertKeeps(pair.a.dir, synced);
  assertEquals(tombstones(indexAfter), []);
  // A is still running and fine.
  assert(!/\[(ERR|FTL)\]|^dsync: /m.test(a.output), a.output);
}

Deno.test("folder guard: a folder moved away stops its dsync, and no peer deletes anything", async () => {
  await using pair = await SyncPair.create();
  const away = `${pair.root}/b.old`;
  await expectGuardStop(
    pair,
    () => Deno.rename(pair.b.dir, away),
    away,
  );
});

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
async function cannotMount(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  const dir = await Deno.makeTempDir({ prefix: "dsync_mount_probe_" });
  try {
    const mount = await run([
      "mount",
      "-t",
      "tmpfs",
      "-o",
      "size=1m",
      "tmpfs",
      dir,
    ]);
    if (mount !== undefined) return `mount -t tmpfs failed: ${mount}`;
    return await run(["umount", "-l", dir]);
  } catch (error) {
    return `mount is not available: ${(error as Error).message}`;
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}

/** Runs a command; its stderr when it fails, undefined when it succeeds. */
async function run(command: string[]): Promise<string | undefined> {
  const out = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  return out.success
    ? undefined
    : new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`;
}

const mountProblem = await cannotMount();

Deno.test({
  name:
    `folder guard: a lazily unmounted folder stops its dsync, and no peer deletes anything${
      mountProblem === undefined ? "" : ` (ignored: ${mountProblem})`
    }`,
  ignore: mountProblem !== undefined,
  fn: async () => {
    await using pair = await SyncPair.create();
    // A second view of the same tmpfs, to read B's index once B is gone.
    const view = `${pair.root}/b-view`;
    await Deno.mkdir(view);
    const mounted = await run([
      "mount",
      "-t",
      "tmpfs",
      "-o",
      "size=16m",
      "tmpfs",
      pair.b.dir,
    ]);
    assertEquals(mounted, undefined);
    const mounts = [pair.b.dir];
    try {
      assertEquals(await run(["mount", "--bind", pair.b.dir, view]), undefined);
      mounts.push(view);
      await expectGuardStop(pair, async () => {
        assertEquals(await run(["umount", "-l", pair.b.dir]), undefined);
        mounts.shift();
      }, view);
    } finally {
      for (const dir of mounts) await run(["umount", "-l", dir]);
    }
  },
});
