/**
 * End-to-end pause: `dsync pause` stops a transfer in progress without
 * dropping the connection, `dsync resume` carries it on from its `.part`,
 * and a paused node stays paused across a restart.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { runDsync } from "./_dsync.ts";
import { partHeldBytes, randomBytes } from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import { Mesh, type MeshNode } from "./_mesh.ts";
import { LOGGED_SIZE, parseLoggedBytes } from "./_units.ts";
import { callInstance, type StatusDocument } from "../../src/node/mod.ts";

const MiB = 1024 * 1024;

/** Writes `size` bytes (a multiple of 1 MiB), each MiB different. */
async function writeBigFile(path: string, size: number): Promise<void> {
  const base = randomBytes(MiB, 17);
  const baseWords = new Uint32Array(base.buffer);
  const block = new Uint8Array(MiB);
  const words = new Uint32Array(block.buffer);
  using file = await Deno.open(path, { write: true, createNew: true });
  for (let i = 0; i < size / MiB; i++) {
    const key = Math.imul(i + 1, 0x9e3779b1) >>> 0;
    for (let w = 0; w < words.length; w++) words[w] = baseWords[w]! ^ key;
    for (let done = 0; done < block.length;) {
      done += await file.write(block.subarray(done));
    }
  }
}

async function status(node: MeshNode): Promise<StatusDocument> {
  return await callInstance(node.dir, "GET", "/api/status") as StatusDocument;
}

Deno.test("pause: a 300 MiB transfer stops moving, resumes from its .part and ends byte-identical", async () => {
  await using mesh = await Mesh.create(["alpha", "beta"]);
  const [a, b] = mesh.nodes as [MeshNode, MeshNode];
  const size = 300 * MiB;
  await writeBigFile(`${a.dir}/big.bin`, size);
  mesh.startAll();
  // Held (allocated), not size: the part fills in beta's own chunk order.
  await waitFor(
    async () => await partHeldBytes(b.dir) > 16 * MiB,
    "16 MiB in beta's .part",
    90_000,
    5,
  );
  // Straight to the control API: a CLI start would let the transfer end.
  await Promise.all([
    callInstance(a.dir, "POST", "/api/pause"),
    callInstance(b.dir, "POST", "/api/pause"),
  ]);
  // Answers already on the way land; then nothing moves.
  let last = -1;
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const now = await partHeldBytes(b.dir);
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return Date.now() - stableSince >= 500;
    },
    "beta's .part to stop growing",
    20_000,
    50,
  );
  const kept = last;
  assert(kept > 16 * MiB && kept < size, `.part of ${kept} bytes`);
  const watchUntil = Date.now() + 3_000;
  await waitFor(
    async () => {
      assertEquals(
        await partHeldBytes(b.dir),
        kept,
        "bytes moved while paused",
      );
      return Date.now() >= watchUntil;
    },
    "3 s without a byte moving",
    10_000,
    100,
  );
  const paused = await status(b);
  assertEquals(paused.folder.state, "paused");
  assert(paused.peers.some((p) => p.connected), "the connection was dropped");
  const text = await runDsync(["status", "-d", b.dir], { env: mesh.env });
  assertMatch(text.stdout, /: paused, nothing is sent or received/);

  for (const node of [a, b]) {
    const out = await runDsync(["resume", "-d", node.dir], { env: mesh.env });
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stdout, "Resumed\n");
  }
  const snap = await mesh.identical({ timeoutMs: 120_000 });
  assert(snap.get("big.bin")?.startsWith(`file:false:${size}:`));
  const receiver = b.proc!;
  assertEquals(await mesh.stop(b), 0);
  const logged = [
    ...receiver.output.matchAll(
      new RegExp(`(${LOGGED_SIZE}) from resumed \\.part files`, "g"),
    ),
  ];
  assert(logged.length > 0, receiver.output);
  const resumed = parseLoggedBytes(logged[logged.length - 1]![1]!);
  // Chunks that straddle the end of the .part are fetched again.
  assert(resumed > kept - 8 * MiB, `resumed ${resumed} of ${kept} bytes`);
});

Deno.test("pause: a paused node stays paused across a restart until resumed", async () => {
  await using mesh = await Mesh.create(["alpha"]);
  const [a] = mesh.nodes as [MeshNode];
  const proc = mesh.start(a, []);
  await proc.waitForOutput(/Indexed /, 30_000);
  const paused = await runDsync(["pause", "-d", a.dir], { env: mesh.env });
  assertEquals(paused.code, 0, paused.stderr);
  assertMatch(paused.stdout, /^Paused: nothing is sent or received/);
  assertEquals(await mesh.stop(a), 0);
  const again = mesh.start(a, []);
  await again.waitForOutput(/Paused \(by dsync pause\)/, 30_000);
  await waitFor(
    async () =>
      (await status(a).catch(() => undefined))?.folder.state === "paused",
    "the restarted node to say paused",
    30_000,
    100,
  );
  const resumed = await runDsync(["resume", "-d", a.dir], { env: mesh.env });
  assertEquals(resumed.stdout, "Resumed\n");
  assert((await status(a)).folder.state !== "paused");
  const twice = await runDsync(["resume", "-d", a.dir], { env: mesh.env });
  assertEquals(twice.stdout, "Not paused; nothing to resume\n");
});
