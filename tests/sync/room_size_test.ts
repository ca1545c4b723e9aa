/**
 * The rooms of src/sync/ stay small enough to read: no file over 500
 * lines and no class over 400, so a file holds one idea and a class one
 * job (issue #17; the puller was one class of 786 lines).
 */
import { assertEquals } from "../assert.ts";

const MAX_FILE_LINES = 500;
const MAX_CLASS_LINES = 400;
const SYNC = new URL("../../src/sync/", import.meta.url);

async function files(dir: URL, rel: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory) {
      out.push(...await files(new URL(`${entry.name}/`, dir), path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** Each top-level class of `text`: its name and lines, header to closing brace. */
function classes(text: string): { name: string; lines: number }[] {
  const lines = text.split("\n");
  const out: { name: string; lines: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(?:export )?(?:abstract )?class (\w+)/.exec(lines[i]!);
    if (m === null) continue;
    let end = i;
    if (!/\{\s*\}\s*$/.test(lines[i]!)) {
      while (end < lines.length && lines[end] !== "}") end++;
    }
    out.push({ name: m[1]!, lines: end - i + 1 });
  }
  return out;
}

Deno.test("src/sync/ has no file over 500 lines and no class over 400", async () => {
  const tooLong: string[] = [];
  for (const file of await files(SYNC, "")) {
    const text = await Deno.readTextFile(new URL(file, SYNC));
    const count = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (count > MAX_FILE_LINES) tooLong.push(`${file}: ${count} lines`);
    for (const c of classes(text)) {
      if (c.lines > MAX_CLASS_LINES) {
        tooLong.push(`${file}: class ${c.name}, ${c.lines} lines`);
      }
    }
  }
  assertEquals(tooLong, [], "Split these along what they do");
});

Deno.test("the class measure counts from the header to the closing brace", () => {
  const text = [
    "/** x */",
    "export class A {",
    "  m() {",
    "  }",
    "}",
    "class B {}",
    "",
  ].join("\n");
  assertEquals(classes(text), [{ name: "A", lines: 4 }, {
    name: "B",
    lines: 1,
  }]);
});
