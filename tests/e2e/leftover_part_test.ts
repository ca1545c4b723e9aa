/**
 * A `.part` a kill left beside a file that is here whole is kept at start
 * for resuming; once the folder is in sync with its peers nothing can
 * resume it, and it goes (it used to stay for the 10-minute maximum age:
 * `deno task chaos --seed 300290` found one after a kill mid conflict).
 * @module
 */
import { assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import { writeTree } from "./_folders.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { partName } from "../../src/sync/apply/mod.ts";

Deno.test("leftover .part: kept at start, removed once in sync with the peers", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "notes.txt": "the same on both\n" });
  await writeTree(b.dir, { "notes.txt": "the same on both\n" });
  const part = `${b.dir}/${partName("notes.txt")}`;
  await Deno.writeTextFile(part, "the same on");
  mesh.startAll();
  await b.proc!.waitForOutput(
    /Found 1 leftover \.part files to resume/,
    30_000,
  );
  await waitFor(
    async () => !(await Deno.lstat(part).then(() => true, () => false)),
    "beta to remove the leftover .part once in sync",
    20_000,
  );
  assertEquals(
    await Deno.readTextFile(`${b.dir}/notes.txt`),
    "the same on both\n",
  );
});
