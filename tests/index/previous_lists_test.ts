import { assert, assertEquals } from "../assert.ts";
import type { FileRecord } from "../../src/index/file_record.ts";
import {
  PREVIOUS_CHUNKS_KEPT,
  PREVIOUS_LISTS_KEPT,
  PREVIOUS_MIN_CHUNKS,
  PreviousLists,
} from "../../src/index/previous_lists.ts";
import { IndexStore } from "../../src/index/store.ts";
import { versionOf } from "../../src/index/version_vector.ts";

function file(path: string, chunks: number, seed: number): FileRecord {
  const hash = new Uint8Array(32).fill(seed);
  return {
    path,
    kind: "file",
    size: chunks * 100,
    mtimeNs: 1n,
    exec: false,
    hash,
    chunks: Array.from({ length: chunks }, (_, i) => ({
      offset: i * 100,
      length: 100,
      hash: new Uint8Array(32).fill((seed + i) & 0xff),
    })),
    version: versionOf([[1n, seed]]),
    deleted: false,
    sequence: seed,
  };
}

Deno.test("PreviousLists keeps a replaced big version, not small or same-content ones, and stays bounded", () => {
  const kept = new PreviousLists();
  kept.replaced(
    file("small", PREVIOUS_MIN_CHUNKS - 1, 1),
    file("small", 70, 2),
  );
  assertEquals(kept.get("small"), undefined);
  kept.replaced(file("same", 70, 3), file("same", 70, 3));
  assertEquals(kept.get("same"), undefined);
  kept.replaced(file("big", 70, 4), file("big", 70, 5));
  assertEquals(kept.get("big")?.sequence, 4);
  kept.replaced(file("big", 70, 5), file("big", 70, 6));
  assertEquals(kept.get("big")?.sequence, 5, "the last replaced version");
  for (let i = 0; i < PREVIOUS_LISTS_KEPT + 5; i++) {
    kept.replaced(file(`f${i}`, 64, 10 + i), file(`f${i}`, 64, 200));
  }
  assertEquals(kept.get("big"), undefined, "oldest out first");
  assert(kept.get(`f${PREVIOUS_LISTS_KEPT + 4}`) !== undefined);
  kept.replaced(
    file("huge", PREVIOUS_CHUNKS_KEPT / 2 + 1, 7),
    file("huge", 64, 8),
  );
  kept.replaced(
    file("huge2", PREVIOUS_CHUNKS_KEPT / 2 + 1, 9),
    file("huge2", 64, 8),
  );
  assertEquals(kept.get("huge"), undefined, "over the chunk bound");
  assert(kept.get("huge2") !== undefined);
});

Deno.test("IndexStore.previousList() gives the big version a put replaced", async () => {
  const dir = await Deno.makeTempDir();
  const store = IndexStore.open(dir);
  try {
    const v1 = store.put(file("big.bin", 100, 1));
    assertEquals(store.previousList("big.bin"), undefined);
    store.put(file("big.bin", 100, 2));
    const previous = store.previousList("big.bin");
    assertEquals(previous?.sequence, v1.sequence);
    assertEquals(previous?.hash, v1.hash);
    assertEquals(previous?.chunks.length, 100);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
