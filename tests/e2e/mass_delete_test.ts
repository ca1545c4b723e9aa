/**
 * End-to-end mass-delete guard: a peer deleting 80% of 500 files is held
 * back until `dsync resume --accept-deletes`, with not one file deleted
 * before, even when the deletes arrive in several index batches; then
 * every deleted file is in the versions.
 * @module
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { runDsync } from "./_dsync.ts";
import { writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { callInstance, type StatusDocument } from "../../src/node/mod.ts";

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".txt")) n++;
  }
  return n;
}

async function versionCount(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(`${dir}/.dsync/versions/docs`)) {
      if (e.isFile && /^f\d+\.txt~\d{8}-\d{6}(-\d+)?$/.test(e.name)) n++;
    }
  } catch {
    return 0;
  }
  return n;
}

async function status(dir: string): Promise<StatusDocument> {
  return await callInstance(dir, "GET", "/api/status") as StatusDocument;
}

Deno.test("mass delete: 400 of 500 files deleted by a peer in four batches are all held until --accept-deletes, then go to versions", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  const tree: Record<string, string> = {};
  for (let i = 0; i < 500; i++) tree[`docs/f${i}.txt`] = `file ${i}\n`;
  await writeTree(a.dir, tree);
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("docs/f499.txt") });

  // Four rounds of 100 deletes while beta is connected; each round is
  // indexed (and so announced) by alpha before the next is made, so beta
  // gets the deletes in separate batches. A round of 100 alone is no mass
  // delete: judged batch by batch, the first went through.
  for (let round = 0; round < 4; round++) {
    for (let i = round * 100; i < (round + 1) * 100; i++) {
      await Deno.remove(`${a.dir}/docs/f${i}.txt`);
    }
    const left = 500 - (round + 1) * 100;
    await waitFor(
      async () => (await status(a.dir)).folder.files === left,
      `alpha to index round ${round + 1} (${left} files)`,
      20_000,
      20,
    );
  }
  await b.proc!.waitForOutput(
    /alpha would delete \d+ of the 500 files here; nothing of it is applied/,
    30_000,
  );
  let waiting: readonly string[] = [];
  await waitFor(
    async () => {
      waiting = (await status(b.dir)).folder.waiting;
      return waiting.some((w) =>
        w.startsWith("400 deletes from a peer held back")
      );
    },
    () => `beta to hold all 400 deletes; it says: ${waiting.join("; ")}`,
    30_000,
    100,
  );
  assertEquals(
    await countFiles(`${b.dir}/docs`),
    500,
    "beta deleted files before the guard held",
  );
  assertEquals(await versionCount(b.dir), 0);
  assertEquals((await status(b.dir)).folder.state === "in sync", false);

  const accept = await runDsync(
    ["resume", "-d", b.dir, "--accept-deletes"],
    { env: mesh.env },
  );
  assertEquals(accept.code, 0, accept.stderr);
  assertMatch(
    accept.stdout,
    /^Applying 400 held deletes \(the deleted files go to versions\)\n$/,
  );
  await mesh.identical({ check: (s) => !s.has("docs/f0.txt") });
  assertEquals(await countFiles(`${b.dir}/docs`), 100);
  await waitFor(
    async () => await versionCount(b.dir) === 400,
    "400 versions on beta",
    10_000,
  );
});

Deno.test("mass delete: a peer renaming a folder that holds most of the files is no mass delete", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  const tree: Record<string, string> = {};
  for (let i = 0; i < 400; i++) tree[`photos/f${i}.txt`] = `photo ${i}\n`;
  for (let i = 0; i < 100; i++) tree[`docs/f${i}.txt`] = `doc ${i}\n`;
  await writeTree(a.dir, tree);
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("photos/f399.txt") });

  // 400 deletes of 500 files, but every one of them moves its content.
  await Deno.rename(`${a.dir}/photos`, `${a.dir}/photos 2024`);
  await mesh.identical({
    check: (s) => s.has("photos 2024/f399.txt") && !s.has("photos/f0.txt"),
  });
  assertEquals(await countFiles(`${b.dir}/photos 2024`), 400);
  const said = b.proc!.output;
  assertEquals(/would delete \d+ of the \d+ files here/.test(said), false);
  assertEquals((await status(b.dir)).folder.waiting, []);
});
