import { digestFile } from "../../../src/index/file_digest.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3 } from "../../../src/index/hash.ts";
import { IndexStore } from "../../../src/index/store.ts";
import { versionOf } from "../../../src/index/version_vector.ts";
import {
  findLocalChunk,
  LocalChunkIndex,
  readChunkVerified,
} from "../../../src/sync/pull/chunk_source.ts";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { noise } from "../../_noise.ts";

async function withStore(
  fn: (folder: string, store: IndexStore) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "dsync-chunks-" });
  const store = IndexStore.open(folder);
  try {
    await fn(folder, store);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
}

/** Writes `data` to `path` and indexes it as the scanner would. */
async function addFile(
  folder: string,
  store: IndexStore,
  path: string,
  data: Uint8Array,
): Promise<FileRecord> {
  await Deno.writeFile(`${folder}/${path}`, data);
  const d = await digestFile(`${folder}/${path}`);
  return store.put({
    path,
    kind: "file",
    size: d.size,
    mtimeNs: 0n,
    exec: false,
    hash: d.hash,
    chunks: d.chunks,
    version: versionOf([[1n, 1]]),
    deleted: false,
    sequence: 0,
  });
}

Deno.test("LocalChunkIndex finds every chunk of indexed files and reads it back verified", async () => {
  await withStore(async (folder, store) => {
    const data = noise(600_000, 11);
    const rec = await addFile(folder, store, "big.bin", data);
    assert(rec.chunks.length > 3);
    const index = new LocalChunkIndex(store);
    await index.refresh();
    for (const chunk of rec.chunks) {
      const [loc, ...more] = index.find(chunk.hash, chunk.length);
      assertEquals(more, []);
      assertEquals(loc, {
        path: "big.bin",
        offset: chunk.offset,
        length: chunk.length,
      });
      const bytes = await readChunkVerified(folder, loc!, chunk.hash);
      assertEquals(
        bytes,
        data.subarray(chunk.offset, chunk.offset + chunk.length),
      );
    }
    const c0 = rec.chunks[0]!;
    assertEquals(index.find(c0.hash, c0.length + 1), []); // length must match
    assertEquals(index.find(blake3(new Uint8Array([1])), c0.length), []);
    assertThrows(() => index.find(new Uint8Array(4), 1), RangeError);
  });
});

Deno.test("LocalChunkIndex.refresh() follows changes, renames and deletes", async () => {
  await withStore(async (folder, store) => {
    const a = await addFile(folder, store, "a.txt", noise(1000, 1));
    const index = new LocalChunkIndex(store);
    await index.refresh();
    const c = a.chunks[0]!;
    assertEquals(index.find(c.hash, c.length).map((l) => l.path), ["a.txt"]);
    // A copy under another name: both places are candidates.
    await addFile(folder, store, "copy.txt", noise(1000, 1));
    await index.refresh();
    assertEquals(
      index.find(c.hash, c.length).map((l) => l.path).sort(),
      ["a.txt", "copy.txt"],
    );
    // a.txt changes content, copy.txt is deleted: the chunk is gone.
    await addFile(folder, store, "a.txt", noise(1000, 2));
    store.put({
      ...(store.get("copy.txt")!),
      deleted: true,
      chunks: [],
      size: 0,
      hash: new Uint8Array(0),
    });
    await index.refresh();
    assertEquals(index.find(c.hash, c.length), []);
  });
});

Deno.test("readChunkVerified() refuses bytes that changed on disk, and non-files", async () => {
  await withStore(async (folder, store) => {
    const rec = await addFile(folder, store, "f.bin", noise(5000, 3));
    const c = rec.chunks[0]!;
    const loc = { path: "f.bin", offset: c.offset, length: c.length };
    assert((await readChunkVerified(folder, loc, c.hash)) !== undefined);
    await Deno.writeFile(`${folder}/f.bin`, noise(5000, 4));
    assertEquals(await readChunkVerified(folder, loc, c.hash), undefined);
    await Deno.writeFile(`${folder}/f.bin`, noise(10, 3));
    assertEquals(await readChunkVerified(folder, loc, c.hash), undefined);
    await Deno.remove(`${folder}/f.bin`);
    assertEquals(await readChunkVerified(folder, loc, c.hash), undefined);
    await Deno.mkdir(`${folder}/f.bin`);
    assertEquals(await readChunkVerified(folder, loc, c.hash), undefined);
  });
});

Deno.test("findLocalChunk() skips stale candidates", async () => {
  await withStore(async (folder, store) => {
    const data = noise(3000, 5);
    const r1 = await addFile(folder, store, "one", data);
    await addFile(folder, store, "two", data);
    const index = new LocalChunkIndex(store);
    await index.refresh();
    const c = r1.chunks[0]!;
    await Deno.writeFile(`${folder}/one`, noise(3000, 6)); // not rescanned
    assertEquals(await findLocalChunk(folder, index, c.hash, c.length), data);
    await Deno.remove(`${folder}/two`);
    assertEquals(
      await findLocalChunk(folder, index, c.hash, c.length),
      undefined,
    );
  });
});

Deno.test("LocalChunkIndex pages through many records and grows", async () => {
  await withStore(async (_folder, store) => {
    const records: FileRecord[] = [];
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) {
      const hash = blake3(new Uint8Array([i & 0xff, i >> 8]));
      hashes.push(hash);
      records.push({
        path: `d/f${i}`,
        kind: "file",
        size: 100 + (i % 7),
        mtimeNs: 0n,
        exec: false,
        hash,
        chunks: [{ offset: 0, length: 100 + (i % 7), hash }],
        version: versionOf([[1n, 1]]),
        deleted: false,
        sequence: 0,
      });
    }
    store.putMany(records);
    const index = new LocalChunkIndex(store, { pageSize: 300 });
    await Promise.all([index.refresh(), index.refresh()]);
    assertEquals(index.size, 5000);
    for (let i = 0; i < 5000; i += 97) {
      assertEquals(index.find(hashes[i]!, 100 + (i % 7)), [
        { path: `d/f${i}`, offset: 0, length: 100 + (i % 7) },
      ]);
    }
    // Rewrite them all: the dead entries are compacted away as it grows.
    store.putMany(
      records.map((r) => ({ ...r, version: versionOf([[1n, 2]]) })),
    );
    await index.refresh();
    assert(index.size <= 10_000);
    assertEquals(index.find(hashes[42]!, 100), [
      { path: "d/f42", offset: 0, length: 100 },
    ]);
  });
});

Deno.test("IndexStore.chunkListsSince() lists encoded chunk lists in sequence order", async () => {
  await withStore(async (folder, store) => {
    const a = await addFile(folder, store, "a", noise(100, 1));
    store.put({
      path: "d",
      kind: "dir",
      size: 0,
      mtimeNs: 0n,
      exec: false,
      hash: new Uint8Array(0),
      chunks: [],
      version: versionOf([[1n, 1]]),
      deleted: false,
      sequence: 0,
    });
    const rows = store.chunkListsSince(0, 10);
    assertEquals(rows.map((r) => [r.path, r.sequence, r.liveFile]), [
      ["a", a.sequence, true],
      ["d", a.sequence + 1, false],
    ]);
    assertEquals(rows[0]!.chunks.length, 36);
    assertEquals(rows[0]!.chunks.subarray(4), a.chunks[0]!.hash);
    assertEquals(store.chunkListsSince(a.sequence, 10).length, 1);
  });
});
