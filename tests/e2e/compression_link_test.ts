/**
 * LZ4 where it pays, end to end: two dsync processes in network
 * namespaces joined by a veth pair limited to 40 Mbit/s, where sending
 * text compressed is faster than sending it as is. The sender's governor
 * measures both ways and must keep compressing; the kernel's byte count of
 * the link shows what crossed. (Where the link is faster than the
 * compressor the governor turns compression off; its table tests cover
 * that, since it depends on the machine's speed.) The link was 100 Mbit/s
 * until December: under a load of 17-25 from other work on this 2-core
 * VM the pair moved only 7-10 MB/s of text compressed (CPU-bound), less
 * than the 12.5 MB/s that link carries as is, so the governor was right
 * to turn LZ4 off and the test failed about every other run. At 40 Mbit/s
 * (5 MB/s as is, ~11.6 compressed) compression pays loaded or not.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { waitIdentical } from "./_folders.ts";
import { startLinkedPair, withThrottledLink } from "./_faults.ts";

const MiB = 1024 * 1024;

/** `size` bytes of source-like text from `seed`: LZ4 makes it 43% of that. */
function sourceText(size: number, seed: number): Uint8Array {
  const words = ["value", "index", "record", "chunk", "peer", "folder"];
  const lines: string[] = [];
  let x = seed >>> 0 || 1;
  let length = 0;
  while (length < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const a = words[x % words.length]!;
    const b = words[(x >>> 8) % words.length]!;
    const line = `  const ${a}${x % 1000} = ${b}.get(${
      (x >>> 12) % 97
    }); // ${a}\n`;
    lines.push(line);
    length += line.length;
  }
  return new TextEncoder().encode(lines.join("")).subarray(0, size);
}

Deno.test("compression: text crossing a 40 Mbit/s link is sent compressed", async () => {
  await withThrottledLink(
    "compressed link",
    "40mbit",
    async ({ link, a, b, env, procs }) => {
      let total = 0;
      for (let i = 0; i < 6; i++) {
        const text = sourceText(16 * MiB, 70 + i);
        await Deno.writeFile(`${a}/module${i}.ts`, text);
        total += text.length;
      }
      const port = 9631;
      const before = await link.txBytes("a");
      procs.push(...startLinkedPair(link, a, b, port, env));
      await waitIdentical(a, b, { timeoutMs: 120_000, procs });
      const sent = await link.txBytes("a") - before;
      console.log(
        `${(sent / MiB).toFixed(1)} MiB crossed the link for ${
          total / MiB
        } MiB of text`,
      );
      // Compressed all the way: 43%; the governor also sends its measuring
      // window (~12 MiB) as is: ~51%. Uncompressed: 104%.
      assert(sent < total * 0.75, `${sent} bytes sent for ${total}`);
      for (const proc of procs) assertEquals(await proc.stop(), 0);
    },
  );
});
