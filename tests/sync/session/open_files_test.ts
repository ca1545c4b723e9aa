import { assert, assertEquals } from "../../assert.ts";
import { OpenFiles } from "../../../src/sync/session/open_files.ts";

async function withFiles(
  n: number,
  fn: (paths: string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      paths.push(`${dir}/f${i}`);
      await Deno.writeTextFile(`${dir}/f${i}`, `file ${i}`);
    }
    await fn(paths);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function isClosed(file: Deno.FsFile): boolean {
  try {
    file.statSync();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.BadResource;
  }
}

Deno.test("OpenFiles closes the least recently used beyond capacity", () =>
  withFiles(3, (paths) => {
    const files = new OpenFiles({ capacity: 2 });
    const [a, b, c] = paths.map((p) => Deno.openSync(p));
    files.put("a", a!);
    files.put("b", b!);
    assert(files.get("a") === a); // a is now the most recent
    files.put("c", c!);
    assertEquals(files.size, 2);
    assertEquals(isClosed(b!), true);
    assertEquals(files.get("b"), undefined);
    assert(files.get("a") === a);
    assert(files.get("c") === c);
    files.clear();
    assertEquals([isClosed(a!), isClosed(c!)], [true, true]);
    assertEquals(files.size, 0);
    return Promise.resolve();
  }));

Deno.test("OpenFiles closes handles left idle", () =>
  withFiles(2, (paths) => {
    let now = 0;
    const files = new OpenFiles({ idleMs: 100, now: () => now });
    const [a, b] = paths.map((p) => Deno.openSync(p));
    files.put("a", a!);
    now = 60;
    files.put("b", b!);
    now = 120; // a idle 120 ms, b 60 ms
    assert(files.get("b") === b);
    assertEquals(isClosed(a!), true);
    assertEquals(files.get("a"), undefined);
    now = 500;
    assertEquals(files.get("b"), undefined);
    assertEquals(isClosed(b!), true);
    return Promise.resolve();
  }));

Deno.test("OpenFiles.put() over a kept key closes the old handle", () =>
  withFiles(1, (paths) => {
    const files = new OpenFiles();
    const first = Deno.openSync(paths[0]!);
    const second = Deno.openSync(paths[0]!);
    files.put("x", first);
    files.put("x", second);
    assertEquals(isClosed(first), true);
    assert(files.get("x") === second);
    files.clear();
    return Promise.resolve();
  }));
