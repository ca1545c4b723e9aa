import { assert } from "../assert.ts";
import { runFuzz } from "./_fuzz.ts";

Deno.test("fuzz: a hostile member sending random, mutated and adversarial messages of every type for 8 s breaks nothing", async () => {
  const seed = Number(
    Deno.env.get("DSYNC_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31),
  );
  console.log(`fuzz seed ${seed} (replay: DSYNC_FUZZ_SEED=${seed})`);
  const report = await runFuzz(seed, 8_000, () => {});
  const types = ["1", "2", "3", "4", "5", "6", "7", "9", "10", "11", "12"];
  for (const type of types) {
    assert((report.byType[type] ?? 0) > 0, `no message of type ${type}`);
  }
});
