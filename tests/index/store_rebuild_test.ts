import { assert, assertEquals, assertThrows } from "../assert.ts";
import { IndexSchemaError, IndexStore } from "../../src/index/store.ts";
import { setSchemaVersion } from "./_schema.ts";

async function withFolder(
  fn: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-rebuild-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function fileRecord(path: string) {
  return {
    path,
    kind: "file" as const,
    size: 1,
    mtimeNs: 1n,
    exec: false,
    hash: new Uint8Array(32),
    chunks: [{ offset: 0, length: 1, hash: new Uint8Array(32) }],
    version: [{ replica: 7n, counter: 1 }],
    deleted: false,
    sequence: 0,
  };
}

function asideFiles(dir: string): string[] {
  return [...Deno.readDirSync(`${dir}/.dsync`)].map((e) => e.name).filter((
    n,
  ) => n.includes(".corrupt-")).sort();
}

Deno.test("IndexStore.openOrRebuild() keeps a sound index as it is", async () => {
  await withFolder((dir) => {
    const first = IndexStore.open(dir);
    first.put(fileRecord("a.txt"));
    const replica = first.replicaId;
    first.close();
    const store = IndexStore.openOrRebuild(dir);
    try {
      assertEquals(store.replicaId, replica);
      assertEquals(store.count(), 1);
      assertEquals(asideFiles(dir), []);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.openOrRebuild() sets a garbled index aside and starts empty", async () => {
  await withFolder(async (dir) => {
    await Deno.mkdir(`${dir}/.dsync`);
    await Deno.writeTextFile(
      `${dir}/.dsync/index.db`,
      "not a database ".repeat(500),
    );
    const store = IndexStore.openOrRebuild(dir, { now: () => 0 });
    try {
      assertEquals(store.count(), 0);
      assertEquals(asideFiles(dir), ["index.db.corrupt-19700101T000000Z"]);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.openOrRebuild() rebuilds a truncated index that still opens", async () => {
  await withFolder(async (dir) => {
    const first = IndexStore.open(dir);
    first.putMany(
      Array.from({ length: 3000 }, (_, i) => fileRecord(`f${i}.txt`)),
    );
    const replica = first.replicaId;
    first.close();
    const path = `${dir}/.dsync/index.db`;
    await Deno.truncate(path, Math.floor((await Deno.stat(path)).size / 2));
    const store = IndexStore.openOrRebuild(dir);
    try {
      assertEquals(store.count(), 0);
      assert(store.replicaId !== replica, "the replica id was kept");
      assertEquals(asideFiles(dir).length, 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("IndexStore.openOrRebuild() refuses, and keeps, an index of another schema", async () => {
  await withFolder((dir) => {
    IndexStore.open(dir).close();
    setSchemaVersion(dir, 99);
    assertThrows(() => IndexStore.openOrRebuild(dir), IndexSchemaError);
    assertEquals(asideFiles(dir), []);
  });
});
