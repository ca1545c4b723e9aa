/**
 * Record diffs between real dsync processes (issue #21, "Deltas"): a 1 MiB
 * change in a big file reaches the peer as an `IndexDiff` of a few KB, not
 * the whole chunk list again, and the file ends byte-identical; a receiver
 * without the diff's base asks for the record in full and still gets the
 * file; a record request for a path never sent as a diff ends the
 * connection.
 * @module
 */
import { digestBytes } from "../../src/index/file_digest.ts";
import { chunkListHash, diffChunkLists } from "../../src/index/record_diff.ts";
import type { IndexDiff } from "../../src/protocol/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
} from "./_dsync.ts";
import { randomBytes, SyncPair, writeTree } from "./_folders.ts";
import { HostilePeer } from "./_hostile_peer.ts";
import { waitFor } from "../_wait.ts";

const MiB = 1024 * 1024;

Deno.test("record diff: a 1 MiB overwrite in a 64 MiB file goes as a diff of a few KB and arrives byte-identical", async () => {
  await using pair = await SyncPair.create();
  // Only the sender has it: the receiver pulls it whole first, and then
  // holds the sender's version without announcing it back.
  await writeTree(pair.a.dir, { "big.bin": randomBytes(64 * MiB, 7) });
  pair.start(pair.a);
  pair.start(pair.b, ["-v"]);
  await pair.connected();
  const before = await pair.identical();
  const patch = randomBytes(MiB, 8);
  {
    using file = await Deno.open(`${pair.a.dir}/big.bin`, { write: true });
    await file.seek(30 * MiB, Deno.SeekMode.Start);
    for (let done = 0; done < patch.length;) {
      done += await file.write(patch.subarray(done));
    }
  }
  await pair.identical({
    timeoutMs: 60_000,
    check: (s) => s.get("big.bin") !== before.get("big.bin"),
  });
  const receiver = pair.b.proc!;
  assertEquals(await pair.stop(pair.b), 0);
  const rebuilt = [
    ...receiver.output.matchAll(
      /Rebuilt the record of "?big\.bin"? from a diff of (\d+) bytes .*?: (\d+) of (\d+) chunks sent/g,
    ),
  ];
  // One diff, or one per step if the watcher saw the write in steps.
  assert(rebuilt.length > 0, receiver.output.slice(-4000));
  for (const match of rebuilt) {
    const [, bytes, added, total] = match.map(Number) as number[];
    // ~900 chunks listed whole are ~32 KB; the 1 MiB touches ~20 of them.
    assert(total! > 500, `${total} chunks in 64 MiB`);
    assert(added! < 40, `${added} chunks sent for 1 MiB changed`);
    assert(bytes! < 2_000, `a diff of ${bytes} bytes for 1 MiB changed`);
  }
  assert(!/in full/.test(receiver.output), "asked for the record in full");
});

/** A victim dsync on loopback and a peer of our own connected to it. */
async function victimWithPeer(root: string) {
  const port = freePort();
  const victim = new DsyncProcess(
    loopbackNodeArgs(root, "v", port, freePort(), ["-v"]),
    { env: isolatedEnv(`${root}/home`) },
  );
  await victim.waitForOutput(/Listening on port/, 60_000);
  const peer = await HostilePeer.start(port);
  return { victim, peer };
}

Deno.test("record diff: a receiver without the base asks for the record in full and gets the file", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-diff-" });
  let victim: DsyncProcess | undefined;
  try {
    await Deno.mkdir(`${root}/v`);
    await Deno.mkdir(`${root}/home`);
    const started = await victimWithPeer(root);
    victim = started.victim;
    const peer = started.peer;
    // A version the victim never had, and the new one as edits of it.
    const data = randomBytes(8 * MiB, 9);
    const base = digestBytes(randomBytes(8 * MiB, 10)).chunks;
    const next = digestBytes(data);
    const { edits, added } = diffChunkLists(base, next.chunks);
    const sequence = peer.nextSequence();
    const diff: IndexDiff = {
      type: "index_diff",
      last: true,
      path: "big.bin",
      exec: false,
      size: data.length,
      mtimeNs: 1_700_000_000_000_000_000n,
      sequence,
      version: [{ replica: peer.replicaId, counter: 1n }],
      hash: next.hash,
      baseHash: new Uint8Array(32).fill(7),
      listHash: chunkListHash(next.chunks),
      chunkTotal: next.chunks.length,
      edits,
      added: added.map((c) => ({ length: c.length, hash: c.hash })),
    };
    await peer.send(diff);
    await peer.waitFor(
      () =>
        peer.received.some((m) =>
          m.type === "record_request" && m.path === "big.bin"
        ),
      "the victim to ask for big.bin in full",
    );
    // Not acked until the record itself came: a connection lost meanwhile
    // sends it again.
    assert(peer.ackedSequence() < sequence, "a diff not taken in was acked");
    // Answered as dsync answers: the record whole, then its chunks.
    await peer.announce("big.bin", data, "correct", {
      chunks: next.chunks.map((c) => ({ length: c.length, hash: c.hash })),
      hash: next.hash,
    });
    await waitFor(
      async () => {
        const got = await Deno.readFile(`${root}/v/big.bin`).catch(() => null);
        return got !== null && got.length === data.length &&
          got.every((b, i) => b === data[i]);
      },
      "big.bin to arrive whole",
      60_000,
    );
    assert(peer.open, "the victim closed an honest exchange");
    assert(peer.ackedSequence() > sequence, "the full record was not acked");
    await peer.close();
    assert(
      /Asking .* for the record of "?big\.bin"? in full/.test(victim.output),
      victim.output.slice(-3000),
    );
  } finally {
    await victim?.stop("SIGKILL");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("record diff: a record request for a path never sent as a diff ends the connection", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-diff-" });
  let victim: DsyncProcess | undefined;
  try {
    await Deno.mkdir(`${root}/v`);
    await Deno.mkdir(`${root}/home`);
    await writeTree(`${root}/v`, { "a.txt": new TextEncoder().encode("a\n") });
    const started = await victimWithPeer(root);
    victim = started.victim;
    const peer = started.peer;
    await peer.send({ type: "record_request", path: "a.txt" });
    await peer.closed();
    await waitFor(
      () => /SessionProtocolError/.test(victim!.output),
      "the victim to name the violation",
    );
  } finally {
    await victim?.stop("SIGKILL");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
