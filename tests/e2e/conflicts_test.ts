/**
 * End-to-end conflicts, offline changes and three-peer meshes with real
 * dsync processes on loopback.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { IndexStore } from "../../src/index/store.ts";
import { partSize, randomBytes, writeTree } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { LOGGED_SIZE, parseLoggedBytes } from "./_units.ts";

const MiB = 1024 * 1024;
const CONFLICT = /^doc\.sync-conflict-\d{8}-\d{6}-([0-9A-F]{8})\.txt$/;

function replicaTag(folder: string): string {
  const store = IndexStore.open(folder);
  try {
    return store.replicaId.toString(16).padStart(16, "0").slice(0, 8)
      .toUpperCase();
  } finally {
    store.close();
  }
}

/** The stored version vector of `doc.txt` in a stopped node's index. */
function docVersion(folder: string): string {
  const store = IndexStore.open(folder);
  try {
    const record = store.get("doc.txt");
    assert(record !== undefined, `no record of doc.txt in ${folder}`);
    return record.version.map((e) => `${e.replica.toString(16)}=${e.counter}`)
      .sort().join(",");
  } finally {
    store.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts the nodes of `mesh` dialing each other and waits for `path` everywhere. */
async function syncBase(mesh: Mesh, path: string): Promise<void> {
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has(path) });
  const codes = await mesh.stopAll();
  for (const [name, code] of Object.entries(codes)) {
    assertEquals(code, 0, `${name} exited with ${code}`);
  }
}

for (const newerSide of ["alpha", "beta"]) {
  Deno.test(`conflicts: concurrent offline edits keep the newer (${newerSide}'s) and a conflict copy`, async () => {
    await using mesh = await Mesh.create(["alpha", "beta"]);
    const [a, b] = mesh.nodes as [MeshNode, MeshNode];
    await writeTree(a.dir, { "doc.txt": "base\n" });
    await syncBase(mesh, "doc.txt");

    // Edited on both sides while both are stopped; one edit is newer.
    const [winner, loser] = newerSide === "alpha" ? [a, b] : [b, a];
    const older = `${loser.name}'s edit, the older one\n`;
    const newer = `${winner.name}'s edit, newer\n`;
    await Deno.writeTextFile(`${loser.dir}/doc.txt`, older);
    await Deno.utime(`${loser.dir}/doc.txt`, 1_700_000_000, 1_700_000_000);
    await Deno.writeTextFile(`${winner.dir}/doc.txt`, newer);
    await Deno.utime(`${winner.dir}/doc.txt`, 1_700_000_100, 1_700_000_100);

    mesh.startAll();
    const snap = await mesh.identical({
      check: (s) => [...s.keys()].some((p) => CONFLICT.test(p)),
    });
    const copies = [...snap.keys()].filter((p) => CONFLICT.test(p));
    assertEquals(copies.length, 1, `conflict copies: ${copies.join(", ")}`);
    assertEquals(snap.size, 2, `entries: ${[...snap.keys()].join(", ")}`);
    const copy = copies[0]!;
    for (const node of [a, b]) {
      assertEquals(await Deno.readTextFile(`${node.dir}/doc.txt`), newer);
      assertEquals(await Deno.readTextFile(`${node.dir}/${copy}`), older);
    }
    await mesh.stopAll();
    // The copy names the replica whose edit lost.
    assertEquals(copy.match(CONFLICT)![1], replicaTag(loser.dir));
  });
}

Deno.test("conflicts: the same offline edit on both sides makes no conflict copy", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "base\n" });
  await syncBase(mesh, "doc.txt");
  const same = "both sides typed the same\n";
  await Deno.writeTextFile(`${a.dir}/doc.txt`, same);
  await Deno.writeTextFile(`${b.dir}/doc.txt`, same);
  mesh.startAll();
  await mesh.connected(a, [b]);
  await mesh.connected(b, [a]);
  // A marker made after connecting: once it is everywhere, the exchange ran.
  await writeTree(a.dir, { "marker.txt": "after\n" });
  const snap = await mesh.identical({ check: (s) => s.has("marker.txt") });
  assertEquals([...snap.keys()].sort(), ["doc.txt", "marker.txt"]);
  assertEquals(await Deno.readTextFile(`${a.dir}/doc.txt`), same);
  assertEquals(await mesh.stopAll(), { alpha: 0, beta: 0 });
  // Both indexes hold one merged version of it.
  assertEquals(docVersion(a.dir), docVersion(b.dir));
});

Deno.test("conflicts: a file deleted on both sides offline stays deleted", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "base\n", "keep.txt": "keep\n" });
  await syncBase(mesh, "doc.txt");
  await Deno.remove(`${a.dir}/doc.txt`);
  await Deno.remove(`${b.dir}/doc.txt`);
  mesh.startAll();
  await mesh.connected(a, [b]);
  await mesh.connected(b, [a]);
  // A marker made after connecting: once it is everywhere, the exchange ran.
  await writeTree(a.dir, { "marker.txt": "after\n" });
  const snap = await mesh.identical({ check: (s) => s.has("marker.txt") });
  assertEquals([...snap.keys()].sort(), ["keep.txt", "marker.txt"]);
});

Deno.test("conflicts: a file created offline in a folder a peer deleted survives", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "dir/old.txt": "old\n", "keep.txt": "keep\n" });
  await syncBase(mesh, "dir/old.txt");
  await Deno.remove(`${a.dir}/dir`, { recursive: true });
  await writeTree(b.dir, { "dir/new.txt": "made on beta\n" });
  mesh.startAll();
  const snap = await mesh.identical({
    timeoutMs: 30_000,
    check: (s) => s.has("dir/new.txt") && !s.has("dir/old.txt"),
  });
  assertEquals([...snap.keys()].sort(), ["dir", "dir/new.txt", "keep.txt"]);
  for (const node of [a, b]) {
    assertEquals(
      await Deno.readTextFile(`${node.dir}/dir/new.txt`),
      "made on beta\n",
    );
  }
});

Deno.test("conflicts: an offline edit wins over an offline delete", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "base\n", "other.txt": "other\n" });
  await syncBase(mesh, "doc.txt");

  await Deno.remove(`${a.dir}/doc.txt`);
  const edit = "beta edited this while alpha deleted it\n";
  await Deno.writeTextFile(`${b.dir}/doc.txt`, edit);

  mesh.startAll();
  await mesh.connected(a, [b]);
  const snap = await mesh.identical({
    check: (s) => s.get("doc.txt")?.includes(`:${edit.length}:`) ?? false,
  });
  assertEquals([...snap.keys()].sort(), ["doc.txt", "other.txt"]);
  for (const node of [a, b]) {
    assertEquals(await Deno.readTextFile(`${node.dir}/doc.txt`), edit);
  }
});

Deno.test("conflicts: deletes and creates made while stopped propagate at start", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "gone.txt": "to delete\n", "stays.txt": "stays\n" });
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("gone.txt") });

  // Offline delete.
  assertEquals(await mesh.stop(a), 0);
  await Deno.remove(`${a.dir}/gone.txt`);
  mesh.start(a);
  await mesh.connected(a, [b]);
  await mesh.identical({ check: (s) => !s.has("gone.txt") });
  assert(!(await exists(`${b.dir}/gone.txt`)), "gone.txt still on beta");

  // Offline create.
  assertEquals(await mesh.stop(a), 0);
  await writeTree(a.dir, { "created/offline.txt": "made while stopped\n" });
  mesh.start(a);
  await mesh.connected(a, [b]);
  const snap = await mesh.identical({
    check: (s) => s.has("created/offline.txt"),
  });
  assertEquals([...snap.keys()].sort(), [
    "created",
    "created/offline.txt",
    "stays.txt",
  ]);
  // Still there after both restart (a second start does not mistake it).
  await mesh.stopAll();
  mesh.startAll();
  await mesh.connected(a, [b]);
  await mesh.identical({ check: (s) => s.has("created/offline.txt") });
  for (const node of [a, b]) {
    assertEquals(
      await Deno.readTextFile(`${node.dir}/created/offline.txt`),
      "made while stopped\n",
    );
  }
});

Deno.test("mesh: three peers writing 100 files each end with all 300", async () => {
  await using mesh = await Mesh.create(["alpha", "beta", "gamma"]);
  mesh.startAll();
  for (const node of mesh.nodes) {
    await mesh.connected(node, mesh.nodes.filter((n) => n !== node));
  }
  await Promise.all(mesh.nodes.map((node) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 100; i++) {
      files[`${node.name}/file-${i}.txt`] = `${node.name} ${i}\n`.repeat(i);
    }
    return writeTree(node.dir, files);
  }));
  const snap = await mesh.identical({
    timeoutMs: 60_000,
    check: (s) =>
      [...s.values()].filter((v) => v.startsWith("file:")).length === 300,
  });
  assertEquals(snap.size, 303); // 300 files and 3 directories
  for (const node of mesh.nodes) {
    assertEquals(
      snap.get(`${node.name}/file-99.txt`)?.split(":")[2],
      String(
        `${node.name} 99\n`.length * 99,
      ),
    );
  }
});

/**
 * One try of the source-killed scenario: gamma pulls a 150 MB file from
 * alpha alone, beta (same file) joins, alpha is killed. Returns the bytes
 * beta sent (0 when gamma had everything from alpha before the kill).
 */
async function killSourceMidTransfer(): Promise<number> {
  await using mesh = await Mesh.create(["alpha", "beta", "gamma"]);
  const [a, b, c] = mesh.nodes as [MeshNode, MeshNode, MeshNode];
  const data = randomBytes(150 * MiB, 21);
  await writeTree(a.dir, { "large.bin": data });
  await writeTree(b.dir, { "large.bin": data });
  // Beta indexes its copy alone first, so that its later start is quick.
  mesh.start(b, []);
  await b.proc!.waitForOutput(/Indexed/, 60_000);
  assertEquals(await mesh.stop(b), 0);

  // Gamma starts pulling from alpha alone; beta joins during the transfer,
  // so that alpha surely serves the first part.
  mesh.start(c, []);
  await c.proc!.waitForOutput(/Listening/);
  mesh.start(a, [c]);
  await waitFor(
    async () => await partSize(c.dir) > 0,
    "a .part on gamma",
    30_000,
    20,
  );
  mesh.start(b, [a, c]);
  // Killed as soon as beta is connected: gamma may not have beta's index
  // yet, and then drops its .part and starts the file over from beta once
  // beta announces it (see docs/SCENARIOS.md); either way it completes.
  await mesh.connected(c, [b]);
  await mesh.stop(a, "SIGKILL");
  const snap = await mesh.identical({
    nodes: [b, c],
    timeoutMs: 90_000,
    check: (s) => s.has("large.bin"),
  });
  assertEquals(snap.size, 1);
  const got = await Deno.readFile(`${c.dir}/large.bin`);
  assertEquals(got.length, data.length);
  assert(got.every((v, i) => v === data[i]), "gamma's copy differs");
  const beta = b.proc!;
  assertEquals(await mesh.stop(b), 0);
  const sent = beta.output.match(
    new RegExp(`of file data from peers, sent (${LOGGED_SIZE})`),
  );
  assert(sent !== null, `no byte count in beta's output:\n${beta.output}`);
  return parseLoggedBytes(sent[1]!);
}

Deno.test("mesh: a source killed mid-transfer, the other finishes the file", async () => {
  // Alpha may finish before beta has joined (a fast disk, a slow start):
  // then nothing was left to retry, and the scenario runs again.
  const tries: number[] = [];
  for (let i = 0; i < 3 && !tries.some((sent) => sent > 0); i++) {
    tries.push(await killSourceMidTransfer());
  }
  assert(
    tries.some((sent) => sent > 0),
    `alpha served the whole file before the kill in ${tries.length} tries`,
  );
});

Deno.test("conflicts: an edit with an older mtime (clock skew) still wins by version", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  await writeTree(a.dir, { "doc.txt": "base\n" });
  mesh.startAll();
  await mesh.identical({ check: (s) => s.has("doc.txt") });
  // Beta's clock is years behind: its later edit carries an older mtime.
  const edit = "beta's later edit, stamped in 2001\n";
  await Deno.writeTextFile(`${b.dir}/doc.txt`, edit);
  await Deno.utime(`${b.dir}/doc.txt`, 1_000_000_000, 1_000_000_000);
  const snap = await mesh.identical({
    check: (s) => s.get("doc.txt")?.includes(`:${edit.length}:`) ?? false,
  });
  assertEquals([...snap.keys()], ["doc.txt"]);
  assertEquals(await Deno.readTextFile(`${a.dir}/doc.txt`), edit);
});

Deno.test("mesh: a change relays through the peer in the middle", async () => {
  await using mesh = await Mesh.create(["alpha", "beta", "gamma"]);
  const [a, b, c] = mesh.nodes as [MeshNode, MeshNode, MeshNode];
  // alpha — beta — gamma: alpha and gamma never connect.
  mesh.start(b, []);
  mesh.start(a, [b]);
  mesh.start(c, [b]);
  await mesh.connected(b, [a, c]);
  await writeTree(a.dir, { "from-alpha/one.txt": "relayed\n" });
  await writeTree(c.dir, { "from-gamma.txt": "relayed back\n" });
  const snap = await mesh.identical({
    check: (s) => s.has("from-alpha/one.txt") && s.has("from-gamma.txt"),
  });
  assertEquals(snap.size, 3);
  assert(!/Peer "?gamma"? .* connected/.test(a.proc!.output), "a met c");
});
