/**
 * One owner of `.dsync/index.db`: only `src/index/` creates tables, and
 * only `IndexStore` (`src/index/store.ts`) opens a connection; the remote
 * index is a view over the store's (`RemoteIndex.of`).
 */
import { assertEquals } from "../assert.ts";

const SRC = new URL("../../src/", import.meta.url);

async function sourceFiles(dir: URL, rel: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${rel}/${entry.name}`;
    if (entry.isDirectory) {
      out.push(...await sourceFiles(new URL(`${entry.name}/`, dir), path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push(path);
    }
  }
  return out.sort();
}

Deno.test("only src/index/ creates tables, and only IndexStore opens the database", async () => {
  const creating: string[] = [];
  const opening: string[] = [];
  for (const path of await sourceFiles(SRC, "src")) {
    const text = await Deno.readTextFile(
      new URL(`../../${path}`, import.meta.url),
    );
    if (/CREATE\s+TABLE/i.test(text) && !path.startsWith("src/index/")) {
      creating.push(path);
    }
    if (/new\s+DatabaseSync\s*\(/.test(text) && path !== "src/index/store.ts") {
      opening.push(path);
    }
  }
  assertEquals(creating, [], "files creating tables outside src/index/");
  assertEquals(opening, [], "files opening a database besides IndexStore");
});
