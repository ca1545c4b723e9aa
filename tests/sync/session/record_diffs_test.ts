import { assert, assertEquals, assertThrows } from "../../assert.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { fileHashOfChunks } from "../../../src/index/hash.ts";
import { versionOf } from "../../../src/index/version_vector.ts";
import type { Hello, Message } from "../../../src/protocol/mod.ts";
import {
  DIFF_MIN_CHUNKS,
  diffOf,
  RecordDiffs,
  recordOfDiff,
} from "../../../src/sync/session/record_diffs.ts";
import { SessionProtocolError } from "../../../src/sync/session/session_errors.ts";
import { toWireRecord } from "../../../src/sync/session/wire_record.ts";

/** A file of `n` chunks; chunk `i` is `seed + i`, except those in `changed`. */
function file(
  n: number,
  seed: number,
  changed: ReadonlySet<number> = new Set(),
  sequence = 1,
): FileRecord {
  const chunks = Array.from({ length: n }, (_, i) => {
    const hash = new Uint8Array(32);
    new DataView(hash.buffer).setUint32(
      0,
      seed + i + (changed.has(i) ? 1e6 : 0),
    );
    return { offset: i * 1000, length: 1000, hash };
  });
  return {
    path: "big.bin",
    kind: "file",
    size: n * 1000,
    mtimeNs: 1n,
    exec: false,
    hash: fileHashOfChunks(chunks),
    chunks,
    version: versionOf([[7n, sequence]]),
    deleted: false,
    sequence,
  };
}

const N = DIFF_MIN_CHUNKS * 4;
const v1 = file(N, 0);
const v2 = file(N, 0, new Set([10, 11, 200]), 2);

Deno.test("diffOf() sends only what pays, and recordOfDiff() rebuilds it from the right base only", () => {
  const wire = toWireRecord(v2);
  const diff = diffOf(wire, v1, true)!;
  assertEquals(diff.added.length, 3);
  assertEquals(diff.edits.length, 2);
  assertEquals(recordOfDiff(diff, [undefined, v1])?.chunks.length, N);
  assertEquals(
    recordOfDiff(diff, [v1])!.chunks.map((c) => c.hash),
    wire.chunks.map((c) => c.hash),
  );
  // No base, another version, a deleted one: nothing rebuilt.
  assertEquals(recordOfDiff(diff, []), undefined);
  assertEquals(recordOfDiff(diff, [file(N, 5)]), undefined);
  assertEquals(recordOfDiff(diff, [{ ...v1, deleted: true }]), undefined);
  // A base with v1's hash but other chunks: the checks refuse it.
  const forged = { ...file(N, 9), hash: v1.hash };
  assertEquals(recordOfDiff(diff, [forged]), undefined);
  assertEquals(
    recordOfDiff({ ...diff, listHash: new Uint8Array(32) }, [v1]),
    undefined,
  );
  // Not worth a diff: a short list, the same version, everything changed.
  const short = file(DIFF_MIN_CHUNKS - 1, 0);
  assertEquals(diffOf(wire, short, true), undefined);
  assertEquals(diffOf(wire, v2, true), undefined);
  assertEquals(diffOf(wire, file(N, 50_000), true), undefined);
});

function diffs(
  over: { previous?: FileRecord; theirs?: FileRecord } = {},
): { diffs: RecordDiffs; sent: Message[] } {
  const sent: Message[] = [];
  const diffs = new RecordDiffs({
    local: {
      replicaId: 1n,
      maxSequence: 2,
      since: () => [],
      get: () => v2,
      previousList: () => over.previous,
    },
    remote: {
      maxSequence: () => 0n,
      storeBatch: () => {},
      get: () => over.theirs,
    },
  }, {
    name: "peer",
    fingerprint: "ab12",
    replica: 9n,
    send: (m) => {
      sent.push(m);
      return Promise.resolve();
    },
  });
  return { diffs, sent };
}

const hello: Hello = {
  type: "hello",
  protocolVersion: 2,
  replicaId: 9n,
  name: "peer",
  caseInsensitive: false,
  posixNames: true,
  swarming: true,
  recordDiffs: true,
  blockDeltas: true,
};

Deno.test("RecordDiffs.diffFor() diffs against the peer's record, or our replaced version once the peer acked it", () => {
  const wire = toWireRecord(v2);
  assert(diffs({ theirs: v1 }).diffs.diffFor(hello, wire, 0n) !== undefined);
  const ours = diffs({ previous: v1 }).diffs;
  assertEquals(ours.diffFor(hello, wire, 0n), undefined, "not acked yet");
  assert(ours.diffFor(hello, wire, 1n) !== undefined);
  assertEquals(
    ours.diffFor({ ...hello, recordDiffs: false }, wire, 1n),
    undefined,
    "the peer did not say it takes diffs",
  );
});

Deno.test("RecordDiffs answers a record request once per diff sent, and ends the session on any other", () => {
  const { diffs: d, sent } = diffs({ theirs: v1 });
  assertThrows(() => d.answer("big.bin", true), SessionProtocolError);
  d.diffFor(hello, toWireRecord(v2), 0n);
  d.answer("big.bin", true);
  assertEquals(sent.length, 1);
  const batch = sent[0]!;
  assert(batch.type === "index_batch");
  assertEquals(batch.records[0]!.chunks.length, N);
  assertThrows(() => d.answer("big.bin", true), SessionProtocolError);
});

Deno.test("RecordDiffs.take() asks for the record in full when it lacks the base", () => {
  const { diffs: d, sent } = diffs({ theirs: v1 });
  const diff = diffOf(toWireRecord(v2), file(N, 3), true)!;
  const batch = d.take(diff, 100);
  assertEquals(batch.records, []);
  assertEquals(sent, [{ type: "record_request", path: "big.bin" }]);
  const good = diffOf(toWireRecord(v2), v1, true)!;
  const { diffs: d2 } = diffs({});
  // Our own record of the path is v2 here, not the base: not rebuilt.
  assertEquals(d2.take(good, 100).records, []);
});
