import { assert, assertEquals, assertThrows } from "../../assert.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3, fileHashOfChunks } from "../../../src/index/hash.ts";
import { IgnoreRules } from "../../../src/index/ignore_rules.ts";
import {
  bump,
  counterOf,
  overflowReplica,
  versionOf,
} from "../../../src/index/version_vector.ts";
import { decodeMessage, encodeMessage } from "../../../src/protocol/codec.ts";
import type { WireFileRecord } from "../../../src/protocol/messages.ts";
import {
  CaseCollisionError,
  checkOwnCounter,
  detectCaseInsensitive,
  fromWireRecord,
  MAX_COUNTER,
  MAX_OWN_COUNTER,
  NameNotAllowedError,
  toWireRecord,
  WireRecordError,
  wireRecordProblem,
} from "../../../src/sync/session/wire_record.ts";

const enc = new TextEncoder();

function fileRecord(path: string, content: string): FileRecord {
  const data = enc.encode(content);
  return {
    path,
    kind: "file",
    size: data.length,
    mtimeNs: 1_700_000_000_123_000_000n,
    exec: true,
    hash: fileHashOfChunks(
      data.length === 0 ? [] : [{ hash: blake3(data) }],
    ),
    chunks: data.length === 0
      ? []
      : [{ offset: 0, length: data.length, hash: blake3(data) }],
    version: versionOf([[7n, 3], [(1n << 64n) - 1n, 1]]),
    deleted: false,
    sequence: 42,
    inode: 99,
    dev: 1,
  };
}

const noIgnore = { ignores: () => false };

/** Round trip through the codec, as a peer would receive it. */
function overTheWire(r: WireFileRecord): WireFileRecord {
  const msg = decodeMessage(
    encodeMessage({ type: "index_batch", records: [r], last: true }),
  );
  if (msg.type !== "index_batch") throw new Error("not a batch");
  return msg.records[0]!;
}

Deno.test("toWireRecord() and fromWireRecord() round-trip a file", () => {
  const local = fileRecord("dir/a.txt", "hello");
  const wire = overTheWire(toWireRecord(local));
  assertEquals(wire.sequence, 42n);
  assertEquals(wire.version.map((e) => e.counter), [3n, 1n]);
  const back = fromWireRecord(wire, { ignore: noIgnore })!;
  const { inode: _i, dev: _d, ...expected } = local;
  assertEquals(back, { ...expected, sequence: 0 });
});

Deno.test("toWireRecord() sends symlinks with size 0; fromWireRecord() restores it", () => {
  const target = "../t\u00e9st";
  const local: FileRecord = {
    path: "link",
    kind: "symlink",
    size: enc.encode(target).length,
    mtimeNs: 5n,
    exec: false,
    hash: blake3(enc.encode(target)),
    chunks: [],
    version: versionOf([[1n, 1]]),
    deleted: false,
    sequence: 3,
    symlinkTarget: target,
  };
  const wire = overTheWire(toWireRecord(local));
  assertEquals(wire.size, 0);
  assertEquals(wire.symlinkTarget, target);
  const back = fromWireRecord(wire, { ignore: noIgnore })!;
  assertEquals(back.size, local.size);
  assertEquals(back.symlinkTarget, target);
});

Deno.test("toWireRecord() strips content from tombstones and directories", () => {
  const tomb = toWireRecord({
    ...fileRecord("gone", "x"),
    deleted: true,
  });
  assertEquals([tomb.size, tomb.hash.length, tomb.chunks.length, tomb.exec], [
    0,
    0,
    0,
    false,
  ]);
  overTheWire(tomb);
  const dir = toWireRecord({ ...fileRecord("d", "x"), kind: "dir" });
  assertEquals([dir.size, dir.hash.length, dir.chunks.length], [0, 0, 0]);
  overTheWire(dir);
});

Deno.test("fromWireRecord() copies hashes out of the message buffer", () => {
  const wire = overTheWire(toWireRecord(fileRecord("a", "abc")));
  const back = fromWireRecord(wire, { ignore: noIgnore })!;
  assert(back.hash.buffer !== wire.hash.buffer);
  assert(back.chunks[0]!.hash.buffer !== wire.chunks[0]!.hash.buffer);
});

Deno.test("fromWireRecord() refuses a counter above 2^52 for any replica, so every device refuses the same records", () => {
  const wire = toWireRecord(fileRecord("a", "abc"));
  for (const replica of [1n, 2n, 0xffff_ffff_ffff_ffffn]) {
    for (const counter of [1n << 53n, (1n << 52n) + 5n, (1n << 52n) + 1n, 0n]) {
      const bad = { ...wire, version: [{ replica, counter }] };
      assertThrows(
        () => fromWireRecord(bad, { ignore: noIgnore }),
        WireRecordError,
        "out of range",
      );
    }
  }
  const max = {
    ...wire,
    version: [{ replica: 1n, counter: 1n << 52n }],
  };
  assertEquals(
    fromWireRecord(max, { ignore: noIgnore })!.version[0]!.counter,
    MAX_COUNTER,
  );
});

Deno.test("checkOwnCounter() refuses our own counter above 2^52, leaving room for local edits", () => {
  const wire = toWireRecord(fileRecord("a", "abc"));
  const ours = 7n;
  for (const counter of [(1n << 53n) - 1n, (1n << 52n) + 1n]) {
    const big = { ...wire, version: [{ replica: ours, counter }] };
    assertThrows(() => checkOwnCounter(big, ours), WireRecordError, "own");
    checkOwnCounter(big, 8n); // another replica's entry may be that high
  }
  const top = { ...wire, version: [{ replica: ours, counter: 1n << 52n }] };
  checkOwnCounter(top, ours);
  const taken = fromWireRecord(top, { ignore: noIgnore })!;
  assertEquals(taken.version[0]!.counter, MAX_OWN_COUNTER);
  // Our next edit stays within the bound every peer applies (it used to
  // reach 2^52 + 1, refused by all: our edits of the path never left).
  const edited = bump(taken.version, ours);
  assertEquals(counterOf(edited, ours), 2 ** 52);
  assertEquals(counterOf(edited, overflowReplica(ours)), 1);
  const sent = {
    ...wire,
    version: toWireRecord({ ...taken, version: edited }).version,
  };
  checkOwnCounter(sent, ours, { ...taken, version: edited });
  assertEquals(
    fromWireRecord(sent, { ignore: noIgnore })!.version,
    edited,
  );
});

Deno.test("fromWireRecord() drops ignored and internal paths", async () => {
  const folder = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${folder}/.dsyncignore`, "*.log\nbuild/\n");
    const ignore = await IgnoreRules.load(folder);
    const wire = toWireRecord(fileRecord("a", "abc"));
    for (
      const path of [
        "x.log",
        "build/out.js",
        ".dsyncignore",
        "sub/file.part",
        ".dsync/index.db",
        ".DSYNC/index.db",
      ]
    ) {
      assertEquals(
        fromWireRecord({ ...wire, path }, { ignore }),
        undefined,
        path,
      );
    }
    assert(fromWireRecord({ ...wire, path: "keep.txt" }, { ignore }));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("fromWireRecord() refuses invalid paths", () => {
  const wire = toWireRecord(fileRecord("a", "abc"));
  for (const path of ["../up", "/abs", "a\\b", "e\u0301"]) {
    assertThrows(
      () => fromWireRecord({ ...wire, path }, { ignore: noIgnore }),
      WireRecordError,
      "Refusing path",
    );
  }
});

Deno.test("fromWireRecord() refuses names its naming rules forbid, and only those", () => {
  const wire = toWireRecord(fileRecord("a", "abc"));
  for (const path of ["a:b.txt", "con.txt", "dir/trailing.", "q?.md"]) {
    assertThrows(
      () =>
        fromWireRecord({ ...wire, path }, {
          ignore: noIgnore,
          rules: "windows",
        }),
      NameNotAllowedError,
      "Not syncing",
    );
    assertEquals(
      fromWireRecord({ ...wire, path }, { ignore: noIgnore, rules: "posix" })
        ?.path,
      path,
    );
  }
});

Deno.test("fromWireRecord() refuses a case-only twin of a live local path", () => {
  const wire = toWireRecord(fileRecord("Readme.md", "abc"));
  const caseTwin = (p: string) =>
    p.toLowerCase() === "readme.md" && p !== "README.md"
      ? "README.md"
      : undefined;
  const err = assertThrows(
    () => fromWireRecord(wire, { ignore: noIgnore, caseTwin }),
    CaseCollisionError,
  ) as CaseCollisionError;
  assertEquals(err.existing, "README.md");
  // A tombstone of the twin is harmless and passes.
  const tomb = toWireRecord({ ...fileRecord("Readme.md", ""), deleted: true });
  assert(fromWireRecord(tomb, { ignore: noIgnore, caseTwin }));
});

Deno.test("wireRecordProblem() names records the wire cannot carry", () => {
  assertEquals(wireRecordProblem(fileRecord("ok.txt", "x")), undefined);
  // The wire carries every name some peer can hold; a backslash none.
  assertEquals(wireRecordProblem(fileRecord("a:b", "x")), undefined);
  assert(wireRecordProblem(fileRecord("a\\b", "x"))?.includes("path"));
  assert(wireRecordProblem({ ...fileRecord("a", "x"), version: [] }));
  // A counter past the bound every device applies (stored before the rule).
  const poisoned = versionOf([[1n, 2 ** 52 + 5]]);
  assert(
    wireRecordProblem({ ...fileRecord("a", "x"), version: poisoned })
      ?.includes("every device refuses"),
  );
  const top = versionOf([[1n, 2 ** 52]]);
  assertEquals(
    wireRecordProblem({ ...fileRecord("a", "x"), version: top }),
    undefined,
  );
  assert(
    wireRecordProblem({
      ...fileRecord("l", ""),
      kind: "symlink",
      symlinkTarget: "",
      hash: blake3(new Uint8Array()),
    }),
  );
});

Deno.test("detectCaseInsensitive() probes the folder and leaves no probe", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const insensitive = detectCaseInsensitive(folder);
    assertEquals(typeof insensitive, "boolean");
    if (Deno.build.os === "linux") assertEquals(insensitive, false);
    assertEquals([...Deno.readDirSync(`${folder}/.dsync`)].length, 0);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("fromWireRecord() refuses a file whose hash is not over its chunk list", () => {
  const good = toWireRecord(fileRecord("a", "abc"));
  assertThrows(
    () =>
      fromWireRecord({ ...good, hash: blake3(enc.encode("abc")) }, {
        ignore: noIgnore,
      }),
    WireRecordError,
    "not the hash of its chunk list",
  );
  const other = blake3(enc.encode("abd"));
  assertThrows(
    () =>
      fromWireRecord({
        ...good,
        chunks: [{ length: 3, hash: other }],
      }, { ignore: noIgnore }),
    WireRecordError,
    "not the hash of its chunk list",
  );
});

Deno.test("fromWireRecord() keeps a record's chunk hashes in one buffer, not one per chunk", () => {
  const parts = ["a".repeat(10), "b".repeat(20), "c".repeat(30)];
  const chunks = parts.map((p) => ({
    length: p.length,
    hash: blake3(enc.encode(p)),
  }));
  const wire: WireFileRecord = {
    ...toWireRecord(fileRecord("a", "abc")),
    size: 60,
    hash: fileHashOfChunks(chunks),
    chunks,
  };
  const back = fromWireRecord(overTheWire(wire), { ignore: noIgnore })!;
  const buffers = new Set(back.chunks.map((c) => c.hash.buffer));
  assertEquals(buffers.size, 1);
  assertEquals(back.chunks.map((c) => c.offset), [0, 10, 30]);
  back.chunks.forEach((c, i) => assertEquals(c.hash, chunks[i]!.hash));
});

Deno.test("fromWireRecord() takes a long chunk list off the wire intact and refuses one whose hash does not match", () => {
  const count = 3000;
  const chunks = Array.from({ length: count }, (_, i) => ({
    length: 1 + (i % 3),
    hash: blake3(enc.encode(`chunk ${i}`)),
  }));
  const size = chunks.reduce((sum, c) => sum + c.length, 0);
  const wire: WireFileRecord = {
    ...toWireRecord(fileRecord("a", "abc")),
    size,
    hash: fileHashOfChunks(chunks),
    chunks,
  };
  const back = fromWireRecord(overTheWire(wire), { ignore: noIgnore })!;
  assertEquals(back.chunks.length, count);
  let offset = 0;
  back.chunks.forEach((c, i) => {
    assertEquals([c.offset, c.length], [offset, chunks[i]!.length]);
    assertEquals(c.hash, chunks[i]!.hash);
    offset += c.length;
  });
  const swapped = [...chunks];
  [swapped[5], swapped[6]] = [swapped[6]!, swapped[5]!];
  assertThrows(
    () =>
      fromWireRecord(overTheWire({ ...wire, chunks: swapped }), {
        ignore: noIgnore,
      }),
    WireRecordError,
    "not the hash of its chunk list",
  );
});
