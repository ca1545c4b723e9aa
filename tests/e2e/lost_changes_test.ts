/**
 * Local changes that must never be lost (issue: a newer write made
 * milliseconds after a peer's vanished everywhere; a chmod right after a
 * pull was taken for dsync's own echo).
 *
 * Two writes to one path on two devices a few milliseconds apart: neither
 * may be lost. Beta writes `p<i>.txt` (its token `B<i>`), alpha writes the
 * same path `delay` ms later without reading it (token `A<i>`), for a sweep
 * of delays from 0 to 150 ms. Both devices must end with `p<i>.txt` and
 * alpha's content (the newer write) in it or in a conflict copy. Beta's
 * content must be kept too, unless alpha's write replaced it after alpha
 * already held it (then it is an ordinary overwrite: the test opens the
 * file before truncating it and knows which case it was).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";

const DELAYS_MS = Array.from({ length: 16 }, (_, i) => i * 10);
const ROUNDS = 3;
/** Start of one trial to the next (trials overlap: like a busy folder). */
const STAGGER_MS = 120;

function content(token: string, size: number): Uint8Array {
  const line = `${token} `.repeat(Math.ceil(size / (token.length + 1)));
  return new TextEncoder().encode(line.slice(0, size));
}

/** How the second write reaches the disk. */
type WriteMode = "in-place" | "temp-rename";

/**
 * Writes `data` at `path` as an editor would; returns whether the file held
 * beta's content at the moment alpha's write took it over (then replacing
 * it is an ordinary edit, not a loss).
 */
async function write(
  path: string,
  data: Uint8Array,
  mode: WriteMode,
): Promise<boolean> {
  if (mode === "temp-rename") {
    const tmp = `${
      path.slice(0, path.lastIndexOf("/"))
    }/.~edit-${crypto.randomUUID()}`;
    await Deno.writeFile(tmp, data);
    // Where nothing is, a hard link puts the whole file in place as
    // atomically as a rename, and says for sure that nothing was there.
    try {
      await Deno.link(tmp, path);
      await Deno.remove(tmp);
      return false;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    await Deno.rename(tmp, path);
    return true;
  }
  using file = await Deno.open(path, { write: true, create: true });
  const held = (await file.stat()).size > 0;
  await file.truncate(0);
  let done = 0;
  while (done < data.length) done += await file.write(data.subarray(done));
  return held;
}

async function readAll(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.startsWith("p")) continue;
    out.set(entry.name, await Deno.readTextFile(`${dir}/${entry.name}`));
  }
  return out;
}

async function sweep(mode: WriteMode, names: string[]): Promise<void> {
  await using mesh = await Mesh.create(names);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  mesh.startAll();
  for (const node of mesh.nodes) {
    await mesh.connected(node, mesh.nodes.filter((n) => n !== node));
  }

  const trials: { i: number; delay: number; held: Promise<boolean> }[] = [];
  let i = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const delay of DELAYS_MS) {
      const n = i++;
      const name = `p${n}.txt`;
      const held = (async () => {
        await Deno.writeFile(`${b.dir}/${name}`, content(`B${n}`, 3000));
        await new Promise((r) => setTimeout(r, delay));
        return await write(`${a.dir}/${name}`, content(`A${n}`, 2000), mode);
      })();
      trials.push({ i: n, delay, held });
      await new Promise((r) => setTimeout(r, STAGGER_MS));
    }
  }
  const held = await Promise.all(trials.map((t) => t.held));
  const last = `p${i - 1}.txt`;
  await mesh.identical({
    timeoutMs: 60_000,
    check: (s) => s.has(last),
  });
  // Quiescent: conflict copies made late would show in a second look.
  const files = await readAll(a.dir);
  const problems: string[] = [];
  for (const t of trials) {
    const name = `p${t.i}.txt`;
    const mine = [...files].filter(([n]) =>
      n === name || n.startsWith(`p${t.i}.sync-conflict-`)
    );
    const has = (token: string) =>
      mine.some(([, text]) => text.startsWith(`${token} `));
    // Alpha's write is the newer one, but both may fall in one tick of
    // the file system's clock: then either may win, the other is a copy.
    if (!files.has(name)) {
      problems.push(`${name} (delay ${t.delay} ms) is gone`);
    }
    if (!has(`A${t.i}`)) {
      problems.push(
        `${name} (delay ${t.delay} ms): alpha's newer write is lost`,
      );
    }
    if (!held[trials.indexOf(t)] && !has(`B${t.i}`)) {
      problems.push(
        `${name} (delay ${t.delay} ms): beta's write is lost (alpha's write did not see it)`,
      );
    }
  }
  const logs = mesh.nodes.map((n) =>
    `--- ${n.name} ---\n${n.proc!.output.split("\n").slice(-60).join("\n")}`
  );
  assertEquals(
    problems,
    [],
    `lost writes:\n${problems.join("\n")}\n${logs.join("\n")}`,
  );
  assert(files.size >= trials.length);
  for (const code of Object.values(await mesh.stopAll())) assertEquals(code, 0);
}

Deno.test("lost writes: a write milliseconds after a peer's to the same path survives (in place)", async () => {
  await sweep("in-place", ["alpha", "beta"]);
});

Deno.test("lost writes: a write milliseconds after a peer's to the same path survives (temp file and rename)", async () => {
  await sweep("temp-rename", ["alpha", "beta"]);
});

Deno.test("lost writes: three peers, a write milliseconds after a peer's survives everywhere", async () => {
  await sweep("in-place", ["alpha", "beta", "gamma"]);
});

Deno.test({
  name:
    "lost changes: a chmod +x right after a pull is a change, not dsync's echo",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using mesh = await Mesh.create(["alpha", "beta"]);
    const [a, b] = mesh.nodes as [MeshNode, MeshNode];
    mesh.startAll();
    await mesh.connected(a, [b]);
    await mesh.connected(b, [a]);
    await Deno.writeTextFile(`${a.dir}/pulled.txt`, "made on alpha\n");
    await mesh.identical({ check: (s) => s.has("pulled.txt") });
    // Within the echo filter's memory of beta's own write of the file.
    await Deno.chmod(`${b.dir}/pulled.txt`, 0o755);
    const snap = await mesh.identical({
      timeoutMs: 15_000,
      check: (s) => s.get("pulled.txt")?.startsWith("file:true:") ?? false,
    });
    assertEquals(snap.get("pulled.txt")?.split(":")[1], "true");
    for (const code of Object.values(await mesh.stopAll())) {
      assertEquals(code, 0);
    }
  },
});
