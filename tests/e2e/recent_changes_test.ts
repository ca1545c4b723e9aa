/**
 * End-to-end: recent changes name the device whose change it was, also
 * for what a peer's change stores without a file written here: the
 * folders created for a pull, and merged versions and tombstones of a
 * path both devices changed alike.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import { writeTree } from "./_folders.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { callInstance, type StatusDocument } from "../../src/node/mod.ts";

type Change = StatusDocument["recent"][number];

async function recent(dir: string): Promise<readonly Change[]> {
  return (await callInstance(dir, "GET", "/api/status") as StatusDocument)
    .recent;
}

/** The last change of each path in `changes`. */
function lastOf(changes: readonly Change[]): Map<string, Change> {
  const last = new Map<string, Change>();
  for (const c of changes) last.set(c.path, c);
  return last;
}

Deno.test("recent changes: folders made for a peer's file, merged versions and tombstones name the peer", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "gone.txt": "old\n" });
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("gone.txt") });

  // A file deep in new folders: every folder is alpha's change on beta.
  await writeTree(a.dir, { "new/deep/f.txt": "f\n" });
  const made = ["new", "new/deep", "new/deep/f.txt"];
  let seen = new Map<string, Change>();
  await waitFor(
    async () => {
      seen = lastOf(await recent(b.dir));
      return made.every((p) => seen.has(p));
    },
    () => `beta's recent changes to list ${made}: ${[...seen.keys()]}`,
    20_000,
    100,
  );
  for (const path of made) {
    assertEquals(
      [path, seen.get(path)?.device, seen.get(path)?.action],
      [path, "alpha", "added"],
    );
  }

  // While beta is paused, both devices make the same change: beta's own
  // is "here"; what resuming stores (the merged version, the merged
  // tombstone) is alpha's.
  await callInstance(b.dir, "POST", "/api/pause");
  for (const dir of [a.dir, b.dir]) {
    await Deno.writeTextFile(`${dir}/same.txt`, "same\n");
    await Deno.remove(`${dir}/gone.txt`);
  }
  await waitFor(
    async () => {
      seen = lastOf(await recent(b.dir));
      return seen.get("same.txt")?.device === "here" &&
        seen.get("gone.txt")?.action === "deleted";
    },
    () => `beta to index its own changes: ${JSON.stringify([...seen])}`,
    20_000,
    100,
  );
  assertEquals(seen.get("gone.txt")?.device, "here");
  await callInstance(b.dir, "POST", "/api/resume", {});
  await waitFor(
    async () => {
      seen = lastOf(await recent(b.dir));
      return seen.get("same.txt")?.device !== "here" &&
        seen.get("gone.txt")?.device !== "here";
    },
    () => `beta to store alpha's versions: ${JSON.stringify([...seen])}`,
    20_000,
    100,
  );
  assertEquals(seen.get("same.txt")?.device, "alpha");
  assertEquals(seen.get("gone.txt")?.device, "alpha");
  assertEquals(seen.get("gone.txt")?.action, "deleted");
  // Nothing of beta's recent changes says "here" but its own two changes.
  const here = (await recent(b.dir)).filter((c) => c.device === "here");
  assert(
    here.every((c) => c.path === "same.txt" || c.path === "gone.txt"),
    JSON.stringify(here),
  );
});
