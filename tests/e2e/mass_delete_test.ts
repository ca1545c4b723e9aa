/**
 * End-to-end mass-delete guard: a peer deleting 80% of 500 files is held
 * back until `dsync resume --accept-deletes`; then every deleted file is
 * in the versions.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
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

Deno.test("mass delete: 400 of 500 files deleted by a peer wait for --accept-deletes, then go to versions", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  const tree: Record<string, string> = {};
  for (let i = 0; i < 500; i++) tree[`docs/f${i}.txt`] = `file ${i}\n`;
  await writeTree(a.dir, tree);
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("docs/f499.txt") });

  // Deleted while alpha is stopped (as a disk that was not mounted): its
  // next start finds all 400 gone at once.
  assertEquals(await mesh.stop(a), 0);
  for (let i = 0; i < 400; i++) await Deno.remove(`${a.dir}/docs/f${i}.txt`);
  mesh.start(a);
  // Alpha's start scan announces the deletes as it commits them; the guard
  // trips once more than half of the files would be gone (deletes that
  // came in earlier batches count), and holds every delete after that.
  await b.proc!.waitForOutput(
    /alpha would delete (\d+) of the 500 files here; nothing of it is applied/,
    30_000,
  );
  await waitFor(
    async () => {
      const doc = await callInstance(
        b.dir,
        "GET",
        "/api/status",
      ) as StatusDocument;
      return /\d+ deletes from a peer held back/.test(
        doc.folder.waiting.join("; "),
      );
    },
    "beta to report the held deletes",
    30_000,
    100,
  );
  const kept = await countFiles(`${b.dir}/docs`);
  assert(kept > 250, `beta deleted ${500 - kept} files before holding`);
  const held = await callInstance(
    b.dir,
    "GET",
    "/api/status",
  ) as StatusDocument;
  assertMatch(held.folder.waiting.join("; "), /deletes from a peer held back/);

  const accept = await runDsync(
    ["resume", "-d", b.dir, "--accept-deletes"],
    { env: mesh.env },
  );
  assertEquals(accept.code, 0, accept.stderr);
  assertMatch(
    accept.stdout,
    /^Applying \d+ held deletes \(the deleted files go to versions\)\n$/,
  );
  await mesh.identical({ check: (s) => !s.has("docs/f0.txt") });
  assertEquals(await countFiles(`${b.dir}/docs`), 100);
  await waitFor(
    async () => await versionCount(b.dir) === 400,
    "400 versions on beta",
    10_000,
  );
});
