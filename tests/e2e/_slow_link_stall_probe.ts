/**
 * Probe for the stall rule (`src/sync/pull/source_stalls.ts`, issue #19):
 * an honest 1 GiB file over a link limited to 100 Mbit/s (veth between
 * network namespaces, `tc`; needs root) must never be taken for a stalled
 * source. Prints the time it took and whether the receiver ever logged a
 * stall.
 *
 *   deno run -A tests/e2e/_slow_link_stall_probe.ts [rate=100mbit] [MiB=1024]
 *
 * Run on 2026-12-07 (2 cores shared, other tests running): 1,024 MiB over
 * 100mbit identical after 187.6 s (both processes started then, so hashing
 * included), 64 MiB over 10mbit after 63.9 s; no stall warning on either
 * side in either run.
 * @module
 */
import { waitIdentical } from "./_folders.ts";
import { startLinkedPair, withThrottledLink } from "./_faults.ts";

const RATE = Deno.args[0] ?? "100mbit";
const MIB = Number(Deno.args[1] ?? 1024);

await withThrottledLink("slow link stall probe", RATE, async (setup) => {
  const { link, a, b, env, procs } = setup;
  const file = await Deno.open(`${a}/big.bin`, { write: true, create: true });
  const block = new Uint8Array(1 << 20);
  let x = 0x9e3779b9;
  for (let m = 0; m < MIB; m++) {
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      block[i] = x & 0xff;
      block[i + 1] = (x >>> 8) & 0xff;
      block[i + 2] = (x >>> 16) & 0xff;
      block[i + 3] = (x >>> 24) & 0xff;
    }
    let off = 0;
    while (off < block.length) off += await file.write(block.subarray(off));
  }
  file.close();
  const started = Date.now();
  procs.push(...startLinkedPair(link, a, b, 9641, env));
  await waitIdentical(a, b, { timeoutMs: 900_000, procs });
  const stalls = procs.map((p) =>
    p.output.split("\n").filter((l) => l.includes("has not answered chunk"))
      .length
  );
  console.log(
    `${MIB} MiB over ${RATE}: identical after ${
      ((Date.now() - started) / 1000).toFixed(1)
    } s (both started then); stall warnings per process: ${stalls.join(", ")}`,
  );
});
