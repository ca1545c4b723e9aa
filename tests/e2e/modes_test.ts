/**
 * End-to-end folder modes with real dsync processes: a send-only folder
 * never applies a peer's change and `dsync override` puts its state back
 * on the peers; a receive-only folder keeps its local edits to itself and
 * `dsync revert` replaces them with the group's, keeping them as versions.
 * @module
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { runDsync } from "./_dsync.ts";
import { writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import type { StatusDocument } from "../../src/node/mod.ts";

async function dsync(mesh: Mesh, ...args: string[]) {
  return await runDsync(args, { env: mesh.env, timeoutMs: 30_000 });
}

async function status(mesh: Mesh, node: MeshNode): Promise<StatusDocument> {
  const out = await dsync(mesh, "status", "-d", node.dir, "--json");
  assertEquals(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as StatusDocument;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function versionContents(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else out.push(await Deno.readTextFile(`${d}/${e.name}`));
    }
  };
  await walk(`${dir}/.dsync/versions`).catch(() => {});
  return out.sort();
}

Deno.test("modes: a send-only folder never takes a peer's change; override puts its state on the peer", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "shared.txt": "alpha's\n" });
  mesh.start(a, undefined, ["--mode", "send-only"]);
  mesh.start(b);
  await mesh.identical({ check: (s) => s.has("shared.txt") });

  await Deno.writeTextFile(`${b.dir}/shared.txt`, "beta's edit\n");
  await Deno.writeTextFile(`${b.dir}/from-beta.txt`, "new on beta\n");
  await waitFor(
    async () => (await status(mesh, a)).folder.differing === 2,
    "alpha to count 2 files that differ",
    30_000,
    200,
  );
  assertEquals(await read(`${a.dir}/shared.txt`), "alpha's\n");
  assertEquals(await read(`${a.dir}/from-beta.txt`), undefined);
  const text = await dsync(mesh, "status", "-d", a.dir);
  assertMatch(
    text.stdout,
    /send-only: 2 files differ from the group \(dsync override/,
  );

  // Alpha's own edits still reach beta.
  await Deno.writeTextFile(`${a.dir}/from-alpha.txt`, "new on alpha\n");
  await waitFor(
    async () => (await read(`${b.dir}/from-alpha.txt`)) === "new on alpha\n",
    "alpha's new file on beta",
    30_000,
  );

  const override = await dsync(mesh, "override", "-d", a.dir);
  assertEquals(override.code, 0, override.stderr);
  assertMatch(override.stdout, /state of 2 files now wins/);
  await mesh.identical({ check: (s) => !s.has("from-beta.txt") });
  assertEquals(await read(`${b.dir}/shared.txt`), "alpha's\n");
  // What the override replaced or deleted on beta is kept there.
  assertEquals(await versionContents(b.dir), [
    "beta's edit\n",
    "new on beta\n",
  ]);
  await waitFor(
    async () => (await status(mesh, a)).folder.differing === 0,
    "alpha to differ in nothing",
    30_000,
    200,
  );

  // The other commands of the modes say what is wrong on this folder.
  const revert = await dsync(mesh, "revert", "-d", a.dir);
  assertEquals(revert.code, 2);
  assertMatch(
    revert.stderr,
    /^dsync: dsync revert is for a receive-only folder; this one is send-only/,
  );
});

Deno.test("modes: a receive-only folder keeps local edits to itself; revert brings the group's back", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "group's\n" });
  mesh.start(a);
  mesh.start(b, undefined, ["--mode", "receive-only"]);
  await mesh.identical({ check: (s) => s.has("doc.txt") });

  await Deno.writeTextFile(`${b.dir}/doc.txt`, "beta's local edit\n");
  await Deno.writeTextFile(`${b.dir}/local-only.txt`, "beta's new file\n");
  await waitFor(
    async () => (await status(mesh, b)).folder.localChanges === 2,
    "beta to report 2 local changes",
    30_000,
    200,
  );
  // Alpha's changes still arrive; beta's do not leave.
  await Deno.writeTextFile(`${a.dir}/other.txt`, "from alpha\n");
  await waitFor(
    async () => (await read(`${b.dir}/other.txt`)) === "from alpha\n",
    "alpha's edit on beta",
    30_000,
  );
  await waitFor(
    async () => (await status(mesh, a)).folder.state === "in sync",
    "alpha in sync with beta",
    30_000,
    200,
  );
  assertEquals(await read(`${a.dir}/doc.txt`), "group's\n");
  assertEquals(await read(`${a.dir}/local-only.txt`), undefined);
  assertMatch(
    (await dsync(mesh, "status", "-d", b.dir)).stdout,
    /receive-only: 2 local changes kept here, not sent/,
  );

  const revert = await dsync(mesh, "revert", "-d", b.dir);
  assertEquals(revert.code, 0, revert.stderr);
  assertMatch(revert.stdout, /^Reverted 2 local changes/);
  await mesh.identical({
    check: (s) => s.get("doc.txt") !== undefined && !s.has("local-only.txt"),
  });
  assertEquals(await read(`${b.dir}/doc.txt`), "group's\n");
  assertEquals(await versionContents(b.dir), [
    "beta's local edit\n",
    "beta's new file\n",
  ]);
  await waitFor(
    async () => (await status(mesh, b)).folder.localChanges === 0,
    "beta to have no local changes",
    30_000,
    200,
  );
});
