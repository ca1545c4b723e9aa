/**
 * Module doors: a file under src/<module>/ enters another module only
 * through that module's mod.ts, so each mod.ts shows the whole surface its
 * module offers and the files behind it can change freely. A folder inside
 * a module that has a mod.ts of its own is a module too (the rooms of
 * src/sync/: session/, pull/, apply/): the module around it and its sibling
 * rooms enter it only through that mod.ts as well. The few
 * exceptions are listed below, each with the reason it cannot go through
 * the door; an entry that is no longer needed fails the test too, so the
 * list only shrinks.
 */
import { assertEquals } from "./assert.ts";

interface Exception {
  /** The importing file, from the repository root. */
  readonly from: string;
  /** The file it imports, from the repository root. */
  readonly to: string;
  readonly why: string;
}

const EXCEPTIONS: readonly Exception[] = [
  {
    from: "src/watch/watch_worker.ts",
    to: "src/index/rel_path.ts",
    why: "runs in a worker: index/mod.ts would load SQLite and BLAKE3 there",
  },
  {
    from: "src/watch/internal_path.ts",
    to: "src/index/state_dir.ts",
    why: "loaded by the watch worker: index/mod.ts would load SQLite there",
  },
];

const ROOT = new URL("../", import.meta.url);
const SRC = new URL("src/", ROOT);

/** Relative paths (from the repository root) of every .ts file under src/. */
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
  return out;
}

const IMPORT_PATTERNS: readonly RegExp[] = [
  /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm,
  /^\s*import\s*["']([^"']+)["']/gm,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /\bnew URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url/g,
];

/** Relative specifiers of `text`'s static, dynamic and worker imports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const spec = m[1]!;
      if (spec.startsWith("./") || spec.startsWith("../")) out.push(spec);
    }
  }
  return out;
}

/** `src/a/b.ts` + `../c/d.ts` → `src/c/d.ts`. */
function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const segment of spec.split("/")) {
    if (segment === "..") parts.pop();
    else if (segment !== ".") parts.push(segment);
  }
  return parts.join("/");
}

/**
 * The module `path` belongs to: the deepest folder above it, under src/,
 * that holds a mod.ts (`src/sync/pull/puller.ts` → `sync/pull`,
 * `src/sync/engine.ts` → `sync`); undefined outside src/<module>/.
 */
function moduleOf(
  path: string,
  modules: ReadonlySet<string>,
): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "src" || parts.length <= 2) return undefined;
  for (let end = parts.length - 1; end > 2; end--) {
    const dir = parts.slice(1, end).join("/");
    if (modules.has(dir)) return dir;
  }
  return parts[1];
}

/** Folders under src/ (without the `src/`) that hold a mod.ts. */
function modulesOf(files: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const file of files) {
    if (file.endsWith("/mod.ts")) out.add(file.slice(4, -"/mod.ts".length));
  }
  return out;
}

/** Every import of another module's file other than its mod.ts, as "from -> to". */
async function crossings(): Promise<string[]> {
  const found = new Set<string>();
  const files = await sourceFiles(SRC, "src");
  const modules = modulesOf(files);
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    const home = moduleOf(file, modules);
    for (const spec of relativeImports(text)) {
      const target = resolve(file, spec);
      const other = moduleOf(target, modules);
      if (other === undefined || other === home) continue;
      if (target === `src/${other}/mod.ts`) continue;
      found.add(`${file} -> ${target}`);
    }
  }
  return [...found].sort();
}

Deno.test("src/ modules import each other only through mod.ts, save the listed exceptions", async () => {
  const allowed = new Set(EXCEPTIONS.map((e) => `${e.from} -> ${e.to}`));
  const unexpected = (await crossings()).filter((c) => !allowed.has(c));
  assertEquals(
    unexpected,
    [],
    "Import these through the module's mod.ts (export what is missing there)",
  );
});

Deno.test("every module-door exception is still needed and says why", async () => {
  const found = new Set(await crossings());
  const stale = EXCEPTIONS.filter((e) => !found.has(`${e.from} -> ${e.to}`));
  assertEquals(stale, [], "Remove these entries: the import is gone");
  for (const e of EXCEPTIONS) {
    assertEquals(e.why.trim() !== "" && !e.why.includes("\n"), true, e.from);
  }
});

/** Import cycles between files of src/ (type-only imports count; workers do not). */
async function importCycles(): Promise<string[]> {
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles(SRC, "src")) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    const targets: string[] = [];
    for (const pattern of IMPORT_PATTERNS.slice(0, 3)) {
      for (const m of text.matchAll(pattern)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) targets.push(resolve(file, spec));
      }
    }
    graph.set(file, targets);
  }
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") {
        cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) {
    if (!state.has(file)) visit(file);
  }
  return cycles;
}

Deno.test("no file of src/ imports itself through others", async () => {
  assertEquals(await importCycles(), [], "Break these import cycles");
});

Deno.test("the module-door scan sees imports in all their forms", () => {
  // Quotes added by q(), so this file's own text holds no such import.
  const q = (spec: string) => `"${spec}"`;
  const text = [
    `import { a } from ${q("../index/store.ts")};`,
    "import {",
    "  b,",
    "  type C,",
    `} from ${q("../protocol/limits.ts")};`,
    `export { d } from ${q("./d.ts")};`,
    `import ${q("../ui/logging.ts")};`,
    `const m = await import(${q("../net/pool.ts")});`,
    `new Worker(new URL(${q("../index/hasher_worker.ts")}, import.meta.url));`,
    `const s = 'not an import from ${q("../x/y.ts")}';`,
  ].join("\n");
  assertEquals(relativeImports(text).sort(), [
    "../index/hasher_worker.ts",
    "../index/store.ts",
    "../net/pool.ts",
    "../protocol/limits.ts",
    "../ui/logging.ts",
    "./d.ts",
  ]);
  assertEquals(
    resolve("src/sync/pull/puller.ts", "../../index/mod.ts"),
    "src/index/mod.ts",
  );
  const modules = modulesOf([
    "src/index/mod.ts",
    "src/sync/mod.ts",
    "src/sync/pull/mod.ts",
    "src/sync/pull/puller.ts",
  ]);
  assertEquals([...modules].sort(), ["index", "sync", "sync/pull"]);
  assertEquals(moduleOf("src/index/mod.ts", modules), "index");
  assertEquals(moduleOf("src/sync/engine.ts", modules), "sync");
  assertEquals(moduleOf("src/sync/pull/puller.ts", modules), "sync/pull");
  assertEquals(moduleOf("src/sync/pull/mod.ts", modules), "sync/pull");
  assertEquals(moduleOf("deno.json", modules), undefined);
});
