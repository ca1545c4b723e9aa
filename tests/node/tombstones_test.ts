import { assertEquals } from "../assert.ts";
import {
  bump,
  EMPTY_VERSION,
  type FileRecord,
  IndexStore,
  TOMBSTONE_RETENTION_MS,
} from "../../src/index/mod.ts";
import { purgeExpiredTombstones } from "../../src/node/tombstones.ts";

Deno.test("purgeExpiredTombstones() forgets deletions after 30 days, not before", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-tomb-" });
  let clock = 1_000_000;
  const store = IndexStore.open(folder, { now: () => clock });
  try {
    const tombstone = (path: string): FileRecord => ({
      path,
      kind: "file",
      size: 0,
      mtimeNs: 0n,
      exec: false,
      hash: new Uint8Array(0),
      chunks: [],
      version: bump(EMPTY_VERSION, store.replicaId),
      deleted: true,
      sequence: 0,
    });
    store.put(tombstone("old.txt"));
    clock += TOMBSTONE_RETENTION_MS / 2;
    store.put(tombstone("recent.txt"));
    assertEquals(purgeExpiredTombstones(store, clock), 0);
    clock = 1_000_000 + TOMBSTONE_RETENTION_MS + 1;
    assertEquals(purgeExpiredTombstones(store, clock), 1);
    assertEquals(store.get("old.txt"), undefined);
    assertEquals(store.get("recent.txt")?.deleted, true);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});
