import { assert, assertEquals } from "../assert.ts";
import { durableWrites, transportFloor } from "../../scripts/bench_floor.ts";

Deno.test("transportFloor() opens every frame it sends, each tag checked", async () => {
  const result = await transportFloor(0.2);
  assert(result.frames > 0);
  // Every frame was opened (else it throws); frames whole in the first
  // read arrived before the clock started and are not counted.
  assert(result.bytes > 0 && result.bytes <= result.frames * 65519);
  assert(result.ms > 0 && result.senderCpuMs > 0 && result.receiverCpuMs > 0);
});

Deno.test("durableWrites() puts every file in place, then removes them all", async () => {
  const scratch = await Deno.makeTempDir();
  try {
    const result = await durableWrites(scratch, 300);
    assert(result.seconds > 0 && result.cpuSeconds > 0);
    assertEquals([...Deno.readDirSync(scratch)], []);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});
