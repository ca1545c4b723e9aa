import { assert, assertEquals } from "../../assert.ts";
import { noise } from "../../_noise.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import { waitFor } from "../../_wait.ts";
import type { Availability } from "../../../src/protocol/mod.ts";
import {
  AvailabilityAnnouncer,
  PartialFiles,
} from "../../../src/sync/swarm/mod.ts";

/** A file's target and a `.part` holding its first `written` bytes. */
async function partOf(dir: string, data: Uint8Array, written: number) {
  const digest = digestBytes(data);
  const partPath = `${dir}/big.bin.part`;
  await Deno.writeFile(partPath, data.subarray(0, written));
  return {
    target: { path: "big.bin", hash: digest.hash, chunks: digest.chunks },
    partPath,
  };
}

Deno.test("PartialFiles serves only whole written chunks of the exact version, verified", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-partial-" });
  try {
    const data = noise(1 << 20, 41);
    const { target, partPath } = await partOf(dir, data, data.length);
    const chunks = target.chunks;
    assert(chunks.length >= 4, `${chunks.length} chunks`);
    const files = new PartialFiles();
    const file = files.begin(target, partPath);
    const [c0, c1, c2] = [chunks[0]!, chunks[1]!, chunks[2]!];
    // Chunk 0 and half of chunk 1 written: only chunk 0 is held.
    files.wrote(file, 0, c0.length + Math.floor(c1.length / 2));
    const read = (c: typeof c0, path = "big.bin", hash = c.hash) =>
      files.read(path, c.offset, c.length, hash);
    assertEquals(read(c0), data.slice(0, c0.length));
    assertEquals(read(c1), undefined, "a chunk not written in full");
    files.wrote(file, c1.offset, c1.length);
    assertEquals(read(c1), data.slice(c1.offset, c1.offset + c1.length));
    assertEquals(read(c2), undefined, "not written");
    assertEquals(read(c0, "other.bin"), undefined, "another path");
    assertEquals(read(c0, "big.bin", c1.hash), undefined, "another hash");
    assertEquals(
      files.read("big.bin", c0.offset + 1, c0.length - 1, c0.hash),
      undefined,
      "a range inside a chunk",
    );
    assertEquals(file.availability().ranges, [{ start: 0, count: 2 }]);
    // The .part holds other bytes now: caught by the hash.
    const f = await Deno.open(partPath, { write: true });
    await f.write(new Uint8Array(8).fill(0xee));
    f.close();
    assertEquals(read(c0), undefined, "bytes that no longer hash right");
    files.end(file);
    assertEquals(read(c1), undefined, "after the pull ended");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AvailabilityAnnouncer sends the first chunk at once, then at most once per interval, and the end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-announce-" });
  try {
    const data = noise(1 << 20, 42);
    const { target, partPath } = await partOf(dir, data, data.length);
    const files = new PartialFiles();
    const sent: Availability[] = [];
    const announcer = new AvailabilityAnnouncer({
      files,
      broadcast: (msg) => sent.push(msg),
      intervalMs: 30,
    });
    try {
      const file = files.begin(target, partPath);
      assertEquals(announcer.snapshot(), [], "nothing held yet");
      for (const c of target.chunks) files.wrote(file, c.offset, c.length);
      assertEquals(sent.length, 1, "the first chunk at once");
      assertEquals(sent[0]!.ranges, [{ start: 0, count: 1 }]);
      await waitFor(() => sent.length === 2, "the second announcement");
      assertEquals(sent[1]!.ranges, [
        { start: 0, count: target.chunks.length },
      ], "the rest in one message");
      assertEquals(announcer.snapshot().length, 1);
      files.end(file);
      assertEquals(sent.length, 3);
      assertEquals(sent[2]!.ranges, [], "the end");
      assertEquals(announcer.snapshot(), []);
    } finally {
      announcer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
