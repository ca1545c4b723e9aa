/**
 * The chaos suite's editor-style write journals exactly what it replaced:
 * a file, a folder dsync put there, or nothing, and keeps the mode.
 * @module
 */
import { assertEquals } from "../assert.ts";
import {
  applyWrite,
  type Place,
  replacedUnder,
} from "../../scripts/chaos/apply.ts";
import { fileContent, tokensIn } from "../../scripts/chaos/content.ts";

async function place(): Promise<Place & { root: string }> {
  const root = await Deno.makeTempDir({ prefix: "chaos-apply-" });
  await Deno.mkdir(`${root}/dir`);
  await Deno.mkdir(`${root}/scratch`);
  return { root, dir: `${root}/dir`, scratch: `${root}/scratch` };
}

Deno.test("an atomic write over a file journals the file's tokens and keeps its mode", async () => {
  const p = await place();
  try {
    await Deno.writeFile(`${p.dir}/a.txt`, fileContent("7-1", 10));
    await Deno.chmod(`${p.dir}/a.txt`, 0o755);
    const effect = await applyWrite(p, "a.txt", {
      peer: 0,
      token: "7-2",
      size: 10,
      mode: "atomic",
    });
    assertEquals(effect.outcome, "done");
    assertEquals(effect.seen, [{ path: "a.txt", tokens: ["7-1"] }]);
    assertEquals(effect.replaced, ["7-1"]);
    assertEquals(tokensIn(await Deno.readFile(`${p.dir}/a.txt`)), ["7-2"]);
    assertEquals((await Deno.stat(`${p.dir}/a.txt`)).mode! & 0o777, 0o755);
    assertEquals(await Array.fromAsync(Deno.readDir(p.scratch)), []);
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});

Deno.test("an atomic write where nothing is journals nothing seen", async () => {
  const p = await place();
  try {
    const effect = await applyWrite(p, "sub/b.txt", {
      peer: 0,
      token: "7-3",
      size: 0,
      mode: "atomic",
    });
    assertEquals(effect.seen, []);
    assertEquals(tokensIn(await Deno.readFile(`${p.dir}/sub/b.txt`)), [
      "7-3",
    ]);
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});

Deno.test("an atomic write over a folder journals every file it held", async () => {
  const p = await place();
  try {
    await Deno.mkdir(`${p.dir}/c/d`, { recursive: true });
    await Deno.writeFile(`${p.dir}/c/d/e.txt`, fileContent("7-4", 5));
    const effect = await applyWrite(p, "c", {
      peer: 0,
      token: "7-5",
      size: 5,
      mode: "atomic",
    });
    assertEquals(effect.seen, [{ path: "c/d/e.txt", tokens: ["7-4"] }]);
    assertEquals((await Deno.lstat(`${p.dir}/c`)).isFile, true);
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});

Deno.test("a file replaced while written in place counts as replaced, even when a kept version still links it", async () => {
  const p = await place();
  try {
    const target = `${p.dir}/a.txt`;
    await Deno.writeTextFile(target, "old");
    using file = await Deno.open(target, { read: true, write: true });
    assertEquals(await replacedUnder(file, target), false);
    // dsync keeps the old file as a version (a hard link) and puts the
    // peer's in place: the open file still has a link, not the path.
    await Deno.link(target, `${p.scratch}/version`);
    await Deno.writeTextFile(`${p.scratch}/new`, "peer's");
    await Deno.rename(`${p.scratch}/new`, target);
    assertEquals(await replacedUnder(file, target), true);
  } finally {
    await Deno.remove(p.root, { recursive: true });
  }
});
