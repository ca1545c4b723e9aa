/**
 * Point 6 of issue #19: a chunk request used to name any offset and
 * length, and the answer (`ok` or `changed`) told whether a guess was
 * right: 256 one-byte guesses per offset read a file back. A real instance
 * now serves only whole chunks of its index, named by their hash.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { blake3 } from "../../src/index/hash.ts";
import type { ChunkResponse, WireFileRecord } from "../../src/protocol/mod.ts";
import { DsyncProcess, freePort, isolatedEnv } from "./_dsync.ts";
import { HostilePeer } from "./_hostile_peer.ts";

const SECRET = "PIN 4821, do not share\n";

Deno.test("chunk oracle: one-byte guesses all get the same answer, only a whole indexed chunk is served", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-oracle-" });
  const env = isolatedEnv(`${root}/home`);
  const port = freePort();
  let node: DsyncProcess | undefined;
  let peer: HostilePeer | undefined;
  try {
    await Deno.mkdir(`${root}/home`);
    await Deno.mkdir(`${root}/v`);
    await Deno.writeTextFile(`${root}/v/secret.txt`, SECRET);
    node = new DsyncProcess(
      ["-d", `${root}/v`, "-p", String(port), "--no-discovery"],
      { env },
    );
    await node.waitForOutput(/Indexed 1 file/);
    peer = await HostilePeer.start(port);
    const p = peer;
    let record: WireFileRecord | undefined;
    await p.waitFor(() => {
      for (const m of p.received) {
        if (m.type !== "index_batch") continue;
        record ??= m.records.find((r) => r.path === "secret.txt");
      }
      return record !== undefined;
    }, "the victim's index");
    const answers = new Map<number, ChunkResponse>();
    const ask = async (
      id: number,
      offset: number,
      length: number,
      hash: Uint8Array,
    ) => {
      await p.send({
        type: "chunk_request",
        id,
        path: "secret.txt",
        hash,
        offset,
        length,
      });
    };
    // Every value of the first byte: a right guess must look like a wrong one.
    for (let b = 0; b < 256; b++) {
      await ask(b + 1, 0, 1, blake3(new Uint8Array([b])));
    }
    const chunk = record!.chunks[0]!;
    await ask(1000, 0, chunk.length, chunk.hash);
    await p.waitFor(() => {
      answers.clear();
      for (const m of p.received) {
        if (m.type === "chunk_response") answers.set(m.id, m);
      }
      return answers.size === 257;
    }, "257 answers");
    const statuses = new Set<string>();
    for (let id = 1; id <= 256; id++) statuses.add(answers.get(id)!.status);
    assertEquals([...statuses], ["changed"]);
    const whole = answers.get(1000)!;
    assertEquals(whole.status, "ok");
    assert(whole.rawLength === SECRET.length);
  } finally {
    await peer?.close().catch(() => {});
    await node?.stop("SIGKILL");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
