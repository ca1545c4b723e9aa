import { partName } from "../../src/sync/atomic_writer.ts";
import { removeLeftoverParts } from "../../src/sync/part_cleanup.ts";
import { assertEquals } from "../assert.ts";

const IS_WINDOWS = Deno.build.os === "windows";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("removeLeftoverParts() removes only dsync's .part files, without following links", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-cleanup-" });
  const folder = `${root}/folder`;
  const outside = `${root}/outside`;
  try {
    await Deno.mkdir(`${folder}/a/b`, { recursive: true });
    await Deno.mkdir(`${folder}/.dsync`);
    await Deno.mkdir(`${folder}/skipped`);
    await Deno.mkdir(outside);
    const p1 = partName("top.txt");
    const p2 = partName("deep.bin");
    const inState = partName("index.db");
    const inSkipped = partName("s");
    const outsidePart = partName("o");
    await Deno.writeTextFile(`${folder}/${p1}`, "x");
    await Deno.writeTextFile(`${folder}/a/b/${p2}`, "x");
    await Deno.writeTextFile(`${folder}/movie.part`, "user's own");
    await Deno.writeTextFile(`${folder}/a/notes.txt`, "keep");
    await Deno.writeTextFile(`${folder}/.dsync/${inState}`, "x");
    await Deno.writeTextFile(`${folder}/skipped/${inSkipped}`, "x");
    await Deno.writeTextFile(`${outside}/${outsidePart}`, "x");
    const expected = [p1, `a/b/${p2}`];
    if (!IS_WINDOWS) {
      await Deno.symlink(outside, `${folder}/link`);
      const linkPart = partName("l");
      await Deno.symlink("anywhere", `${folder}/a/${linkPart}`);
      expected.push(`a/${linkPart}`);
    }
    const removed = await removeLeftoverParts(folder, {
      skipDir: (rel) => rel === "skipped",
    });
    assertEquals(removed.sort(), expected.sort());
    assertEquals(await names(`${folder}/a/b`), []);
    assertEquals(await names(`${folder}/a`), ["b", "notes.txt"]);
    assertEquals(await names(`${folder}/.dsync`), [inState]);
    assertEquals(await names(`${folder}/skipped`), [inSkipped]);
    assertEquals(await names(outside), [outsidePart]);
    assertEquals(await Deno.readTextFile(`${folder}/movie.part`), "user's own");
    assertEquals(await removeLeftoverParts(folder), [`skipped/${inSkipped}`]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
