import { Buffer } from "node:buffer";
import { assert, assertEquals, assertRejects } from "../../assert.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3, fileHashOfChunks } from "../../../src/index/hash.ts";
import { compare, versionOf } from "../../../src/index/version_vector.ts";
import { decodeMessage, encodeMessage } from "../../../src/protocol/codec.ts";
import type { Message } from "../../../src/protocol/messages.ts";
import {
  ChunkHashMismatchError,
  ChunkUnavailableError,
  PeerGoneError,
} from "../../../src/sync/session/chunk_requests.ts";
import { PeerSession } from "../../../src/sync/session/peer_session.ts";
import type {
  LocalIndexView,
  PeerLink,
  PeerSessionOptions,
  RemoteIndexView,
} from "../../../src/sync/session/session_options.ts";
import type { HeldMark } from "../../../src/index/remote_index.ts";
import {
  fromWireRecord,
  WireRecordError,
} from "../../../src/sync/session/wire_record.ts";
import { waitFor } from "../../_wait.ts";
import { diffBlocks } from "../../../src/sync/delta/mod.ts";

const enc = new TextEncoder();

function record(path: string, sequence: number, replica = 1n): FileRecord {
  const data = enc.encode(path);
  return {
    path,
    kind: "file",
    size: data.length,
    mtimeNs: 1_000_000n * BigInt(sequence),
    exec: false,
    hash: fileHashOfChunks([{ hash: blake3(data) }]),
    chunks: [{ offset: 0, length: data.length, hash: blake3(data) }],
    version: versionOf([[replica, sequence]]),
    deleted: false,
    sequence,
  };
}

class FakeLocal implements LocalIndexView {
  readonly records: FileRecord[] = [];
  constructor(readonly replicaId: bigint) {}
  get maxSequence(): number {
    return this.records.at(-1)?.sequence ?? 0;
  }
  add(path: string): FileRecord {
    const r = record(path, this.maxSequence + 1, this.replicaId);
    this.records.push(r);
    return r;
  }
  since(sequence: number, limit: number): FileRecord[] {
    return this.records.filter((r) => r.sequence > sequence).slice(0, limit);
  }
}

class FakeRemote implements RemoteIndexView {
  readonly max = new Map<bigint, bigint>();
  readonly stored = new Map<string, FileRecord>();
  /** The local index in the same database (set by `pair()`). */
  local: FakeLocal | undefined;
  maxSequence(replica: bigint): bigint {
    return this.max.get(replica) ?? 0n;
  }
  storeBatch(replica: bigint, records: readonly FileRecord[], max: bigint) {
    for (const r of records) this.stored.set(`${replica}:${r.path}`, r);
    if (max > this.maxSequence(replica)) this.max.set(replica, max);
  }
  heldSince(replica: bigint, sequence: number, limit: number): HeldMark[] {
    return this.local!.since(sequence, limit).map((l) => {
      const r = this.stored.get(`${replica}:${l.path}`);
      const held = r !== undefined && compare(r.version, l.version) === "equal";
      return { path: l.path, sequence: l.sequence, held };
    });
  }
}

/** One side: its session, stores, what it sent and how its link ended. */
interface Side {
  session: PeerSession;
  local: FakeLocal;
  remote: FakeRemote;
  sent: Message[];
  received: FileRecord[][];
  closedWith: Error | undefined;
  deliver: (bytes: Uint8Array) => void;
}

/**
 * Two sessions whose links deliver to each other asynchronously (one
 * macrotask later, in order), like a socket.
 */
function pair(
  opts: {
    a?: Partial<PeerSessionOptions>;
    b?: Partial<PeerSessionOptions>;
    localA?: FakeLocal;
    localB?: FakeLocal;
    remoteA?: FakeRemote;
    remoteB?: FakeRemote;
  } = {},
): { a: Side; b: Side } {
  const make = (
    name: string,
    local: FakeLocal,
    remote: FakeRemote,
    extra: Partial<PeerSessionOptions>,
  ): Side => {
    const side = {
      local,
      remote,
      sent: [] as Message[],
      received: [] as FileRecord[][],
      closedWith: undefined as Error | undefined,
      deliver: (_: Uint8Array) => {},
    } as Side;
    const link: PeerLink = {
      send(parts) {
        if (side.closedWith) return Promise.reject(new Error("closed"));
        const copy = new Uint8Array(
          Buffer.concat(parts instanceof Uint8Array ? [parts] : parts),
        );
        side.sent.push(decodeMessage(copy));
        setTimeout(() => side.deliver(copy), 0);
        return Promise.resolve();
      },
      close(error) {
        side.closedWith ??= error;
      },
    };
    remote.local = local;
    side.session = new PeerSession({
      peerId: new Uint8Array(32).fill(name === "a" ? 1 : 2),
      link,
      local,
      remote,
      name,
      caseInsensitive: false,
      posixNames: false,
      convert: (w) => fromWireRecord(w, { ignore: { ignores: () => false } }),
      listener: { records: (_s, records) => side.received.push(records) },
      ...extra,
    });
    return side;
  };
  const a = make(
    "a",
    opts.localA ?? new FakeLocal(10n),
    opts.remoteA ?? new FakeRemote(),
    opts.a ?? {},
  );
  const b = make(
    "b",
    opts.localB ?? new FakeLocal(20n),
    opts.remoteB ?? new FakeRemote(),
    opts.b ?? {},
  );
  a.deliver = (bytes) => b.session.receive(bytes);
  b.deliver = (bytes) => a.session.receive(bytes);
  return { a, b };
}

function until(cond: () => boolean, what: string): Promise<void> {
  return waitFor(cond, what, 5000, 1);
}

function batches(side: Side) {
  return side.sent.filter((m) => m.type === "index_batch");
}

Deno.test("PeerSession exchanges hello, acks and the initial deltas both ways", async () => {
  const { a, b } = pair();
  a.local.add("a1");
  a.local.add("a2");
  b.local.add("b1");
  a.session.start();
  b.session.start();
  await until(
    () =>
      a.session.state().initialReceived && b.session.state().initialReceived &&
      a.session.state().allAcked && b.session.state().allAcked,
    "both initial deltas",
  );
  assertEquals(a.sent[0]?.type, "hello");
  assertEquals(a.sent[1], { type: "index_ack", sequence: 0n });
  assertEquals(b.received.flat().map((r) => r.path), ["a1", "a2"]);
  assertEquals(a.received.flat().map((r) => r.path), ["b1"]);
  assertEquals(b.remote.maxSequence(10n), 2n);
  assertEquals(a.remote.maxSequence(20n), 1n);
  assertEquals(b.session.name, "a");
  assertEquals(b.session.replica, 10n);
  assertEquals(a.closedWith, undefined);
  assertEquals(b.closedWith, undefined);
});

Deno.test("PeerSession does not send a peer the records it holds in that version", async () => {
  const { a, b } = pair();
  const x = a.local.add("x");
  a.local.add("y");
  a.session.start();
  b.session.start();
  await until(() => b.received.flat().length === 2, "a's records at b");
  // b applies x as a had it (same version), y with a local edit, and adds z.
  b.local.records.push({ ...x, sequence: b.local.maxSequence + 1 });
  const yEdited = b.local.add("y");
  b.local.add("z");
  b.session.notifyLocalChanges();
  await until(() => a.received.flat().length === 2, "b's changes at a");
  await until(() => b.session.state().allAcked, "all acked");
  assertEquals(a.received.flat().map((r) => r.path), ["y", "z"]);
  assertEquals(a.received.flat()[0]!.version, yEdited.version);
  assertEquals(
    batches(b).flatMap((m) => m.records.map((r) => r.path)),
    ["y", "z"],
  );
});

Deno.test("PeerSession skips pages the peer holds whole and sends the rest", async () => {
  // a pulled 1,500 files from b earlier (b holds them in a's version), but
  // a changed one of them since; two pages of 1,000 in all.
  const localA = new FakeLocal(10n);
  const remoteA = new FakeRemote();
  const pulled: FileRecord[] = [];
  for (let i = 0; i < 1500; i++) {
    pulled.push(localA.add(`f-${String(i).padStart(4, "0")}`));
  }
  const edited = localA.records[700]!;
  localA.records[700] = {
    ...edited,
    version: versionOf([[10n, 9999]]),
    sequence: localA.maxSequence + 1,
  };
  localA.records.push(localA.records.splice(700, 1)[0]!);
  remoteA.storeBatch(20n, pulled, 0n);
  const { a, b } = pair({ localA, remoteA });
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  assertEquals(b.received.flat().map((r) => r.path), ["f-0700"]);
  a.local.add("new");
  a.session.notifyLocalChanges();
  await until(() => b.received.flat().length === 2, "new at b");
  assertEquals(
    batches(a).flatMap((m) => m.records.map((r) => r.path)),
    ["f-0700", "new"],
  );
});

Deno.test("PeerSession sends a peer whose index went back everything again", async () => {
  // a pulled x from b (same version) in an earlier session, so a's remote
  // index says b holds it; b's index was then restored from an older backup.
  const localA = new FakeLocal(10n);
  const remoteA = new FakeRemote();
  const x = localA.add("x");
  localA.add("y");
  remoteA.storeBatch(20n, [{ ...x, sequence: 5 }], 5n);
  const localB = new FakeLocal(20n);
  localB.add("old"); // sequence 1: below the 5 a had of b
  const remoteB = new FakeRemote();
  remoteB.storeBatch(10n, [{ ...x, path: "seen" }], 2n); // b acks a's 2
  const { a, b } = pair({ localA, remoteA, localB, remoteB });
  a.session.start();
  b.session.start();
  await until(
    () => b.received.flat().some((r) => r.path === "x"),
    "x reaches b",
  );
  await until(() => a.session.state().allAcked, "all acked");
  assertEquals(a.closedWith, undefined);
});

Deno.test("PeerSession sends an empty last batch when it has nothing", async () => {
  const { a, b } = pair();
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  const sent = batches(a);
  assertEquals(sent.length, 1);
  assertEquals(sent[0], { type: "index_batch", records: [], last: true });
});

Deno.test("PeerSession bounds batches by count and bytes; only the final one is last", async () => {
  const localA = new FakeLocal(10n);
  for (let i = 0; i < 25; i++) localA.add(`file-${i}`);
  const { a, b } = pair({ localA, a: { batchRecords: 10 } });
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  assertEquals(batches(a).map((m) => [m.records.length, m.last]), [
    [10, false],
    [10, false],
    [5, true],
  ]);
  // Bytes: a tiny budget puts one record per batch.
  const localC = new FakeLocal(30n);
  for (let i = 0; i < 3; i++) localC.add(`f${i}`);
  const p2 = pair({ localA: localC, a: { batchBytes: 1 } });
  p2.a.session.start();
  p2.b.session.start();
  await until(() => p2.b.session.state().initialReceived, "initial");
  assertEquals(batches(p2.a).map((m) => m.records.length), [1, 1, 1]);
});

Deno.test("PeerSession pushes live changes after the initial delta, marked last", async () => {
  const { a, b } = pair();
  a.local.add("first");
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  a.local.add("second");
  a.local.add("third");
  a.session.notifyLocalChanges();
  await until(() => b.remote.maxSequence(10n) === 3n, "live");
  const last = batches(a).at(-1)!;
  assertEquals(last.records.map((r) => r.path), ["second", "third"]);
  assertEquals(last.last, true);
  await until(() => a.session.state().allAcked, "acked");
});

Deno.test("PeerSession asks a reconnecting peer only for the delta", async () => {
  const localA = new FakeLocal(10n);
  for (let i = 0; i < 5; i++) localA.add(`f${i}`);
  const remoteB = new FakeRemote();
  remoteB.max.set(10n, 3n); // b stored a's records up to 3 before
  const { a, b } = pair({ localA, remoteB });
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  assertEquals(b.sent[1], { type: "index_ack", sequence: 3n });
  assertEquals(batches(a).flatMap((m) => m.records.map((r) => r.path)), [
    "f3",
    "f4",
  ]);
});

Deno.test("PeerSession resends everything when acked past its own sequences", async () => {
  const localA = new FakeLocal(10n);
  localA.add("only");
  const remoteB = new FakeRemote();
  remoteB.max.set(10n, 99n); // from an index a no longer has
  const { a, b } = pair({ localA, remoteB });
  a.session.start();
  b.session.start();
  await until(() => b.session.state().initialReceived, "initial");
  assertEquals(batches(a)[0]!.records.map((r) => r.path), ["only"]);
});

Deno.test("PeerSession skips refused records but acks them", async () => {
  const localA = new FakeLocal(10n);
  localA.add("bad");
  localA.add("good");
  const { a, b } = pair({
    localA,
    b: {
      convert: (w) => {
        if (w.path === "bad") throw new WireRecordError(w.path, "no");
        return fromWireRecord(w, { ignore: { ignores: () => false } });
      },
    },
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().allAcked, "initial");
  assertEquals(b.received.flat().map((r) => r.path), ["good"]);
  assertEquals(b.remote.maxSequence(10n), 2n);
  assertEquals(b.closedWith, undefined);
});

Deno.test("PeerSession closes the link on protocol violations, never throwing", () => {
  const cases: [string, (s: PeerSession) => void, string][] = [
    [
      "garbage",
      (s) => s.receive(new Uint8Array([0xff, 1, 2])),
      "MalformedMessageError",
    ],
    [
      "batch before hello",
      (s) =>
        s.receive(
          encodeMessage({ type: "index_batch", records: [], last: true }),
        ),
      "SessionProtocolError",
    ],
    [
      "our own replica",
      (s) =>
        s.receive(
          encodeMessage({
            type: "hello",
            protocolVersion: 2,
            replicaId: 10n,
            name: "me",
            caseInsensitive: false,
            posixNames: false,
            swarming: false,
            recordDiffs: false,
            blockDeltas: false,
          }),
        ),
      "SameReplicaError",
    ],
    [
      "second hello",
      (s) => {
        const hello = encodeMessage({
          type: "hello",
          protocolVersion: 2,
          replicaId: 77n,
          name: "x",
          caseInsensitive: false,
          posixNames: false,
          swarming: false,
          recordDiffs: false,
          blockDeltas: false,
        });
        s.receive(hello);
        s.receive(hello);
      },
      "SessionProtocolError",
    ],
    [
      "unsolicited chunk response",
      (s) => {
        s.receive(
          encodeMessage({
            type: "hello",
            protocolVersion: 2,
            replicaId: 77n,
            name: "x",
            caseInsensitive: false,
            posixNames: false,
            swarming: false,
            recordDiffs: false,
            blockDeltas: false,
          }),
        );
        s.receive(
          encodeMessage({
            type: "chunk_response",
            id: 5,
            status: "not_found",
            compression: "none",
            data: new Uint8Array(0),
            rawLength: 0,
          }),
        );
      },
      "UnsolicitedResponseError",
    ],
  ];
  for (const [what, act, name] of cases) {
    const { a } = pair();
    act(a.session);
    assertEquals(a.closedWith?.name, name, what);
    assertEquals(a.session.open, false, what);
    // Later messages are ignored.
    a.session.receive(new Uint8Array([0xff]));
  }
});

Deno.test("PeerSession requests chunks and verifies the answers", async () => {
  const data = enc.encode("chunk data ".repeat(100));
  const hash = blake3(data);
  let mode: "ok" | "bad" | "missing" = "ok";
  const { a, b } = pair({
    b: {
      chunks: {
        handle: (req) => {
          const s = b.session;
          if (mode === "missing") {
            s.send({
              type: "chunk_response",
              id: req.id,
              status: "not_found",
              compression: "none",
              data: new Uint8Array(0),
              rawLength: 0,
            });
            return;
          }
          const bytes = data.slice(req.offset, req.offset + req.length);
          if (mode === "bad") bytes[0]! ^= 1;
          s.send({
            type: "chunk_response",
            id: req.id,
            status: "ok",
            compression: "none",
            data: bytes,
            rawLength: req.length,
          });
        },
      },
    },
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().helloReceived, "hello");
  assertEquals(await a.session.requestChunk("f", hash, 0, data.length), data);
  mode = "missing";
  await assertRejects(
    () => a.session.requestChunk("f", hash, 0, data.length),
    ChunkUnavailableError,
  );
  mode = "bad";
  await assertRejects(
    () => a.session.requestChunk("f", hash, 0, data.length),
    ChunkHashMismatchError,
  );
  await until(() => a.closedWith !== undefined, "closed");
  assertEquals(a.closedWith?.name, "ChunkHashMismatchError");
});

Deno.test("PeerSession fails requests in flight when the peer goes away", async () => {
  let asked = false;
  const { a, b } = pair({
    b: { chunks: { handle: () => asked = true } },
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().helloReceived, "hello");
  const pending = a.session.requestChunk("f", new Uint8Array(32), 0, 10);
  await until(() => asked, "the request at the peer");
  a.session.closed("test");
  await assertRejects(() => pending, PeerGoneError);
  assert(!a.session.open);
});

Deno.test("PeerSession sends InSync once per received sequence", async () => {
  const { a, b } = pair();
  b.local.add("x");
  a.session.start();
  b.session.start();
  await until(() => a.session.state().initialReceived, "initial");
  a.session.sendInSync();
  a.session.sendInSync();
  await until(() => b.session.state().peerInSync === 1n, "in sync");
  assertEquals(a.sent.filter((m) => m.type === "in_sync").length, 1);
});

Deno.test("PeerSession neither stores nor passes on deletions of paths no one here ever had", async () => {
  const localA = new FakeLocal(10n);
  for (const path of ["gone-never", "gone-known", "gone-ours", "live"]) {
    const r = localA.add(path);
    if (path !== "live") {
      localA.records[localA.records.length - 1] = { ...r, deleted: true };
    }
  }
  class LocalB extends FakeLocal {
    get(path: string): FileRecord | undefined {
      return path === "gone-ours" ? record(path, 1, 20n) : undefined;
    }
  }
  class RemoteB extends FakeRemote {
    knows(path: string): boolean {
      return path === "gone-known" ||
        [...this.stored.keys()].some((k) => k.endsWith(`:${path}`));
    }
  }
  const { a, b } = pair({
    localA,
    localB: new LocalB(20n),
    remoteB: new RemoteB(),
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().allAcked, "initial");
  assertEquals(
    [...b.remote.stored.keys()].sort(),
    ["10:gone-known", "10:gone-ours", "10:live"],
  );
  assertEquals(b.session.tombstonesDropped, 1);
  assertEquals(b.remote.maxSequence(10n), 4n);
});

Deno.test("PeerSession stops reading a peer past its record quota until the debt is paid, or the connection ends", async () => {
  const localA = new FakeLocal(10n);
  for (let i = 0; i < 30; i++) localA.add(`f${i}`);
  const { a, b } = pair({
    localA,
    b: { recordsPerMinute: 20, now: () => 0 },
  });
  const pauses: Promise<void>[] = [];
  a.deliver = (bytes) => {
    const pause = b.session.receive(bytes);
    if (pause !== undefined) pauses.push(pause);
  };
  a.session.start();
  b.session.start();
  await until(() => b.remote.stored.size === 30, "a's records at b");
  // 30 records against 20 a minute: 10 in debt, 30 s at 20/min.
  assertEquals(pauses.length, 1);
  let resumed = false;
  pauses[0]!.then(() => resumed = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert(!resumed, "read on while in debt");
  b.session.closed();
  await pauses[0];
  assert(resumed);
});

Deno.test("PeerSession asks for a poisoned local record to be repaired, instead of sending it or letting the peer's records lose to it", async () => {
  const localA = new FakeLocal(10n);
  const good = localA.add("good");
  const bad = localA.add("bad");
  localA.records[1] = {
    ...bad,
    version: versionOf([[10n, 2], [20n, 2 ** 52 + 5]]),
  };
  class LocalA extends FakeLocal {
    get(path: string): FileRecord | undefined {
      return this.records.find((r) => r.path === path);
    }
  }
  const local = new LocalA(10n);
  local.records.push(good, localA.records[1]!);
  class RemoteA extends FakeRemote {
    localVersion(path: string) {
      return local.get(path)?.version;
    }
  }
  const repaired: string[] = [];
  const { a, b } = pair({
    localA: local,
    remoteA: new RemoteA(),
    a: { repairPoisoned: (path) => repaired.push(path) },
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().allAcked, "initial");
  // Not sent (every device refuses it), but repaired.
  assertEquals([...b.remote.stored.keys()], ["10:good"]);
  assertEquals(repaired, ["bad"]);
  // The peer's record of the path asks for the repair too.
  b.local.add("bad");
  b.session.notifyLocalChanges();
  await until(() => a.remote.stored.has("20:bad"), "b's record at a");
  assertEquals(repaired, ["bad", "bad"]);
});

Deno.test("PeerSession carries block requests and answers, says whether the peer takes them, and closes on an answer that does not fit", async () => {
  const old = enc.encode("old block ".repeat(1000));
  const next = old.slice();
  next.set(enc.encode("NEW"), 5000);
  let fits = true;
  const { a, b } = pair({
    b: {
      chunks: {
        handle: (req) => {
          if (req.type !== "block_request") return;
          const diff = diffBlocks(next, req.signatures);
          b.session.send({
            type: "block_response",
            id: req.id,
            status: "ok",
            compression: "none",
            bitmap: fits ? diff.bitmap : new Uint8Array(diff.bitmap.length + 1),
            rawLength: diff.blocks.length,
            data: diff.blocks,
          });
        },
      },
    },
  });
  a.session.start();
  b.session.start();
  await until(() => a.session.state().helloReceived, "hello");
  assert(a.session.state().blockDeltas, "b's hello takes block requests");
  assertEquals(await a.session.blocks.request("f", blake3(next), 0, old), next);
  assertEquals(a.session.blocks.wireBytes, 4096, "one block of 3 sent");
  fits = false;
  await assertRejects(
    () => a.session.blocks.request("f", blake3(next), 0, old),
    Error,
  );
  await until(() => a.closedWith !== undefined, "closed");
  assertEquals(a.closedWith?.name, "MalformedMessageError");
});
