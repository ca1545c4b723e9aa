import { assertEquals } from "../../assert.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3, fileHashOfChunks } from "../../../src/index/hash.ts";
import {
  IndexChunkLookup,
  keptBytesOf,
  LOOKUP_CACHE_BYTES,
  recordHoldsChunk,
} from "../../../src/sync/session/indexed_chunks.ts";
import { answerChunkRequest } from "../../../src/sync/session/chunk_answer.ts";
import { OpenFiles } from "../../../src/sync/session/open_files.ts";

const enc = new TextEncoder();

function recordOf(path: string, parts: string[], sequence = 1): FileRecord {
  let offset = 0;
  const chunks = parts.map((p) => {
    const bytes = enc.encode(p);
    const c = { offset, length: bytes.length, hash: blake3(bytes) };
    offset += bytes.length;
    return c;
  });
  return {
    path,
    kind: "file",
    size: offset,
    mtimeNs: 0n,
    exec: false,
    hash: fileHashOfChunks(chunks),
    chunks,
    version: [{ replica: 1n, counter: 1 }],
    deleted: false,
    sequence,
  };
}

Deno.test("recordHoldsChunk() takes only a whole chunk at its offset with its hash", () => {
  const r = recordOf("f", ["alpha", "beta", "gamma"]);
  const h = (s: string) => blake3(enc.encode(s));
  const cases: [number, number, Uint8Array, boolean][] = [
    [0, 5, h("alpha"), true],
    [5, 4, h("beta"), true],
    [9, 5, h("gamma"), true],
    [0, 1, h("a"), false], // a one-byte guess
    [1, 4, h("lpha"), false],
    [5, 4, h("alpha"), false], // another chunk's hash
    [0, 9, h("alphabeta"), false], // two chunks at once
    [14, 1, h("x"), false],
  ];
  for (const [offset, length, hash, want] of cases) {
    assertEquals(
      recordHoldsChunk(r, offset, length, hash),
      want,
      `${offset}+${length}`,
    );
  }
  assertEquals(
    recordHoldsChunk({ ...r, deleted: true }, 0, 5, h("alpha")),
    false,
  );
});

Deno.test("IndexChunkLookup.holds() answers as recordHoldsChunk() does, from its flat copy of the chunks", () => {
  const r = recordOf("f", ["alpha", "beta", "gamma"]);
  const h = (s: string) => blake3(enc.encode(s));
  const lookup = new IndexChunkLookup({
    get: () => r,
    sequenceOf: () => 1,
  });
  const cases: [number, number, Uint8Array][] = [
    [0, 5, h("alpha")],
    [5, 4, h("beta")],
    [9, 5, h("gamma")],
    [0, 1, h("a")],
    [1, 4, h("lpha")],
    [5, 4, h("alpha")],
    [0, 9, h("alphabeta")],
    [14, 1, h("x")],
    [0, 5, h("alpha").subarray(0, 31)], // a short hash
    [9, 5, new Uint8Array(32)],
  ];
  for (const [offset, length, hash] of cases) {
    assertEquals(
      lookup.holds("f", offset, length, hash),
      recordHoldsChunk(r, offset, length, hash),
      `${offset}+${length}`,
    );
  }
});

Deno.test("IndexChunkLookup reads a record once per sequence", () => {
  let record = recordOf("f", ["alpha", "beta"]);
  let reads = 0;
  const lookup = new IndexChunkLookup({
    get: () => (reads++, record),
    sequenceOf: (p) => (p === "f" ? record.sequence : undefined),
  });
  const h = (s: string) => blake3(enc.encode(s));
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), true);
  assertEquals(lookup.holds("f", 5, 4, h("beta")), true);
  assertEquals(reads, 1);
  record = recordOf("f", ["omega", "beta"], 2);
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), false);
  assertEquals(lookup.holds("f", 0, 5, h("omega")), true);
  assertEquals(reads, 2);
  assertEquals(lookup.holds("missing", 0, 5, h("alpha")), false);
});

Deno.test("IndexChunkLookup asks nothing of the records while their last sequence stays", () => {
  let record = recordOf("f", ["alpha", "beta"]);
  let queries = 0;
  const records = {
    maxSequence: 1,
    get: (p: string) => (queries++, p === "f" ? record : undefined),
    sequenceOf: (
      p: string,
    ) => (queries++, p === "f" ? record.sequence : undefined),
  };
  const lookup = new IndexChunkLookup(records);
  const h = (s: string) => blake3(enc.encode(s));
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), true);
  assertEquals(lookup.holds("f", 5, 4, h("beta")), true);
  assertEquals(lookup.stampOf("f"), { size: 9, mtimeMs: 0 });
  assertEquals(queries, 1);
  // Any change anywhere gets a new sequence: looked up again.
  record = recordOf("f", ["omega", "beta"], 2);
  records.maxSequence = 2;
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), false);
  assertEquals(lookup.holds("f", 0, 5, h("omega")), true);
  // Its sequence, then the new record.
  assertEquals(queries, 3);
  assertEquals(lookup.holds("missing", 0, 5, h("alpha")), false);
});

Deno.test("IndexChunkLookup reads a path it does not keep with one query", () => {
  const record = recordOf("f", ["alpha"], 7);
  const queries: string[] = [];
  const lookup = new IndexChunkLookup({
    get: (p) => (queries.push(`get ${p}`), p === "f" ? record : undefined),
    sequenceOf: (p) => (queries.push(`seq ${p}`), record.sequence),
  });
  const h = (s: string) => blake3(enc.encode(s));
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), true);
  assertEquals(lookup.holds("missing", 0, 5, h("alpha")), false);
  assertEquals(queries, ["get f", "get missing"]);
  // Kept: only its sequence is asked for again.
  assertEquals(lookup.holds("f", 0, 5, h("alpha")), true);
  assertEquals(queries, ["get f", "get missing", "seq f"]);
});

Deno.test("IndexChunkLookup keeps the records of several paths asked for in turn", () => {
  const records = new Map([
    ["a", recordOf("a", ["alpha", "beta"])],
    ["b", recordOf("b", ["gamma", "delta"])],
    ["c", recordOf("c", ["omega"])],
  ]);
  const reads: string[] = [];
  const lookup = new IndexChunkLookup({
    maxSequence: 1,
    get: (p) => (reads.push(p), records.get(p)),
    sequenceOf: (p) => records.get(p)?.sequence,
  }, 2 * keptBytesOf("a", 2));
  const h = (s: string) => blake3(enc.encode(s));
  // Two files pulled at once: their requests alternate.
  for (let round = 0; round < 3; round++) {
    assertEquals(lookup.holds("a", 0, 5, h("alpha")), true);
    assertEquals(lookup.holds("b", 5, 5, h("delta")), true);
  }
  assertEquals(reads, ["a", "b"]);
  // A third exceeds the budget of two: the least recently asked goes.
  assertEquals(lookup.holds("c", 0, 5, h("omega")), true);
  assertEquals(lookup.holds("b", 0, 5, h("gamma")), true);
  assertEquals(lookup.holds("a", 5, 4, h("beta")), true);
  assertEquals(reads, ["a", "b", "c", "a"]);
});

Deno.test("IndexChunkLookup keeps records within its byte budget, however few chunks each has", () => {
  const records = new Map<string, FileRecord>();
  for (let i = 0; i < 500; i++) {
    const path = `dir/file-${String(i).padStart(4, "0")}.bin`;
    records.set(path, recordOf(path, [`content ${i}`]));
  }
  const reads: string[] = [];
  const budget = 20 * keptBytesOf("dir/file-0000.bin", 1);
  const lookup = new IndexChunkLookup({
    maxSequence: 1,
    get: (p) => (reads.push(p), records.get(p)),
    sequenceOf: (p) => records.get(p)?.sequence,
  }, budget);
  const h = (s: string) => blake3(enc.encode(s));
  let i = 0;
  for (const path of records.keys()) {
    assertEquals(
      lookup.holds(path, 0, `content ${i}`.length, h(`content ${i}`)),
      true,
    );
    assertEquals(lookup.keptBytes <= budget, true, `after ${path}`);
    i++;
  }
  assertEquals(lookup.keptRecords, 20);
  // The last 20 are kept; the first was dropped and is read again.
  assertEquals(reads.length, 500);
  lookup.stampOf("dir/file-0499.bin");
  assertEquals(reads.length, 500);
  lookup.stampOf("dir/file-0000.bin");
  assertEquals(reads.at(-1), "dir/file-0000.bin");
  assertEquals(reads.length, 501);
});

Deno.test("IndexChunkLookup keeps one record over its byte budget alone", () => {
  const parts = Array.from({ length: 64 }, (_, i) => `part ${i}`);
  const big = recordOf("big", parts);
  const lookup = new IndexChunkLookup({
    maxSequence: 1,
    get: (p) => (p === "big" ? big : recordOf(p, ["x"])),
    sequenceOf: () => 1,
  }, keptBytesOf("big", 8));
  const h = (s: string) => blake3(enc.encode(s));
  assertEquals(
    lookup.holds("big", big.chunks[63]!.offset, 7, h("part 63")),
    true,
  );
  assertEquals(lookup.keptRecords, 1);
  assertEquals(lookup.holds("small", 0, 1, h("x")), true);
  assertEquals(lookup.keptRecords, 1);
  assertEquals(LOOKUP_CACHE_BYTES >= keptBytesOf("p", 4096 * 4), true);
});

Deno.test("answerChunkRequest() with the index answers a right and a wrong one-byte guess alike, reading nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = "secret-content";
    await Deno.writeTextFile(`${dir}/f`, secret);
    const record = recordOf("f", [secret]);
    const indexed = new IndexChunkLookup({
      get: () => record,
      sequenceOf: () => 1,
    });
    const ask = (offset: number, length: number, guess: string) =>
      answerChunkRequest(
        dir,
        { ignores: () => false },
        {
          type: "chunk_request",
          id: 1,
          path: "f",
          hash: blake3(enc.encode(guess)),
          offset,
          length,
        },
        undefined,
        undefined,
        false,
        indexed,
      );
    const right = ask(0, 1, "s");
    const wrong = ask(0, 1, "x");
    assertEquals(right.response.status, "changed");
    assertEquals(wrong.response.status, "changed");
    assertEquals(right.changed, false);
    const whole = ask(0, secret.length, secret);
    assertEquals(whole.response.status, "ok");
    assertEquals(new TextDecoder().decode(whole.response.data), secret);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("answerChunkRequest() with the index trusts a file whose stat shows its record, and re-checks one that changed", async () => {
  const dir = await Deno.makeTempDir();
  const files = new OpenFiles();
  try {
    const indexedText = "alpha-beta";
    await Deno.writeTextFile(`${dir}/f`, indexedText);
    const mtime = new Date(1_700_000_000_123);
    await Deno.utime(`${dir}/f`, mtime, mtime);
    let record: FileRecord = {
      ...recordOf("f", [indexedText]),
      mtimeNs: BigInt(mtime.getTime()) * 1_000_000n,
    };
    let sequence = 1;
    const indexed = new IndexChunkLookup({
      get: () => record,
      sequenceOf: () => sequence,
    });
    const ask = () =>
      answerChunkRequest(
        dir,
        { ignores: () => false },
        {
          type: "chunk_request",
          id: 1,
          path: "f",
          hash: blake3(enc.encode(indexedText)),
          offset: 0,
          length: indexedText.length,
        },
        files,
        undefined,
        false,
        indexed,
      );
    // Same size and mtime as the record: sent as read, not hashed again
    // (a write in the same millisecond would get through; the receiver's
    // own check is what catches that one).
    await Deno.writeTextFile(`${dir}/f`, "ALPHA-BETA");
    await Deno.utime(`${dir}/f`, mtime, mtime);
    const trusted = ask();
    assertEquals(trusted.response.status, "ok");
    assertEquals(new TextDecoder().decode(trusted.response.data), "ALPHA-BETA");
    // A later mtime: the bytes are hashed, found changed, and the owner is
    // told so it rescans; through the kept handle and through a fresh one.
    await Deno.utime(`${dir}/f`, new Date(), new Date());
    const changed = ask();
    assertEquals(changed.response.status, "changed");
    assertEquals(changed.changed, true);
    files.clear();
    assertEquals(ask().response.status, "changed");
    // Rewritten back to the indexed bytes with a new mtime: stat differs,
    // the hash matches, so it is served.
    await Deno.writeTextFile(`${dir}/f`, indexedText);
    assertEquals(ask().response.status, "ok");
    // The rescan records the new mtime: trusted again from then on.
    const now = (await Deno.stat(`${dir}/f`)).mtime!.getTime();
    record = { ...record, mtimeNs: BigInt(now) * 1_000_000n, sequence: 2 };
    sequence = 2;
    assertEquals(indexed.stampOf("f"), {
      size: indexedText.length,
      mtimeMs: now,
    });
    assertEquals(ask().response.status, "ok");
  } finally {
    files.clear();
    await Deno.remove(dir, { recursive: true });
  }
});
