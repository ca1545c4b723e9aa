import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../assert.ts";
import { blake3 } from "../../../src/index/hash.ts";
import { receivedMessages } from "../../../src/protocol/buffer_pool.ts";
import type { ChunkRequest } from "../../../src/protocol/messages.ts";
import { MalformedMessageError } from "../../../src/protocol/errors.ts";
import {
  ChunkHashMismatchError,
  ChunkRequester,
  ChunkUnavailableError,
  OFF_THREAD_MIN,
  PeerGoneError,
  UnsolicitedResponseError,
} from "../../../src/sync/session/chunk_requests.ts";
import {
  compressIfWorthwhile,
  LZ4_AVAILABLE,
} from "../../../src/compress/chunk_compression.ts";
import { waitFor } from "../../_wait.ts";

function requester(maxBytes?: number, maxRequests?: number) {
  const sent: ChunkRequest[] = [];
  const r = new ChunkRequester({
    send: (req) => {
      sent.push(req);
      return Promise.resolve();
    },
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxRequests === undefined ? {} : { maxRequests }),
  });
  return { r, sent };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function ok(req: ChunkRequest, data: Uint8Array) {
  return {
    type: "chunk_response" as const,
    id: req.id,
    status: "ok" as const,
    compression: "none" as const,
    data,
    rawLength: data.length,
  };
}

Deno.test("ChunkRequester resolves verified bytes, matched by id", async () => {
  const { r, sent } = requester();
  const one = new Uint8Array(100).fill(1);
  const two = new Uint8Array(50).fill(2);
  const p1 = r.request("f", blake3(one), 0, 100);
  const p2 = r.request("f", blake3(two), 100, 50);
  await tick();
  assertEquals(sent.length, 2);
  assert(sent[0]!.id !== sent[1]!.id);
  r.handleResponse(ok(sent[1]!, two)); // out of order is fine
  r.handleResponse(ok(sent[0]!, one));
  assertEquals(await p1, one);
  assertEquals(await p2, two);
  assertEquals(r.inFlight, 0);
  assertEquals(r.inFlightBytes, 0);
  assertEquals([r.wireBytes, r.rawBytes], [150, 150]);
});

Deno.test("ChunkRequester decompresses LZ4 answers", async () => {
  if (!LZ4_AVAILABLE) return;
  const { r, sent } = requester();
  const data = new TextEncoder().encode("abcd".repeat(4096));
  const p = r.request("f", blake3(data), 0, data.length);
  await tick();
  const encoded = compressIfWorthwhile(data);
  assertEquals(encoded.compression, "lz4");
  r.handleResponse({
    ...ok(sent[0]!, data),
    compression: "lz4",
    data: encoded.bytes,
  });
  assertEquals(await p, data);
  assert(r.wireBytes < data.length);
});

Deno.test("ChunkRequester waits for room beyond its byte and count bounds", async () => {
  const { r, sent } = requester(256 * 1024, 2);
  const data = new Uint8Array(200 * 1024);
  const hash = blake3(data);
  const all = [0, 1, 2].map((i) => r.request("f", hash, i, data.length));
  await tick();
  assertEquals(sent.length, 1); // 400 KiB would exceed the 256 KiB budget
  r.handleResponse(ok(sent[0]!, data));
  await tick();
  assertEquals(sent.length, 2);
  r.handleResponse(ok(sent[1]!, data));
  await tick();
  r.handleResponse(ok(sent[2]!, data));
  assertEquals((await Promise.all(all)).length, 3);
});

Deno.test("ChunkRequester reports refusals and protocol violations", async () => {
  const { r, sent } = requester();
  const data = new Uint8Array(10).fill(3);
  const p = r.request("f", blake3(data), 0, 10);
  await tick();
  r.handleResponse({
    type: "chunk_response",
    id: sent[0]!.id,
    status: "changed",
    compression: "none",
    data: new Uint8Array(0),
    rawLength: 0,
  });
  const err = await assertRejects(() => p, ChunkUnavailableError);
  assertEquals((err as ChunkUnavailableError).status, "changed");

  assertThrows(
    () => r.handleResponse(ok(sent[0]!, data)),
    UnsolicitedResponseError,
  );

  const bad = r.request("f", blake3(data), 0, 10);
  await tick();
  assertThrows(
    () => r.handleResponse(ok(sent[1]!, new Uint8Array(10))),
    ChunkHashMismatchError,
  );
  await assertRejects(() => bad, ChunkHashMismatchError);

  const short = r.request("f", blake3(data), 0, 10);
  await tick();
  assertThrows(
    () => r.handleResponse(ok(sent[2]!, new Uint8Array(9))),
    MalformedMessageError,
  );
  await assertRejects(() => short, MalformedMessageError);
});

Deno.test("ChunkRequester.close() fails requests in flight, waiters and later requests", async () => {
  const { r } = requester(256 * 1024, 1);
  const hash = new Uint8Array(32);
  const inFlight = r.request("f", hash, 0, 10);
  const waiting = r.request("f", hash, 10, 10);
  await tick();
  r.close(new PeerGoneError("bye"));
  await assertRejects(() => inFlight, PeerGoneError);
  await assertRejects(() => waiting, PeerGoneError);
  await assertRejects(() => r.request("f", hash, 0, 1), PeerGoneError);
  assertEquals(r.open, false);
});

Deno.test("ChunkRequester gives up a waiting request when its signal aborts", async () => {
  const { r, sent } = requester(256 * 1024, 1);
  const data = new Uint8Array(4);
  const first = r.request("f", blake3(data), 0, 4);
  const ac = new AbortController();
  const second = r.request("f", blake3(data), 4, 4, ac.signal);
  await tick();
  ac.abort(new Error("stop"));
  await assertRejects(() => second, Error, "stop");
  r.handleResponse(ok(sent[0]!, data));
  assertEquals(await first, data);
  assertEquals(r.inFlightBytes, 0);
});

Deno.test("ChunkRequester stops waiting for an answer when the signal aborts", async () => {
  const { r, sent } = requester();
  const data = new Uint8Array(8).fill(9);
  const ac = new AbortController();
  const p = r.request("f", blake3(data), 0, 8, ac.signal);
  await tick();
  ac.abort(new Error("closing"));
  await assertRejects(() => p, Error, "closing");
  // The late answer is taken quietly and frees the budget.
  r.handleResponse(ok(sent[0]!, data));
  assertEquals(r.inFlightBytes, 0);
});

/**
 * The pieces as a worker gives them back: their buffers transferred (the
 * sender's views read as empty) and the same bytes in new buffers.
 */
function handOver(pieces: readonly Uint8Array[]): Uint8Array[] {
  const buffers = [...new Set(pieces.map((p) => p.buffer as ArrayBuffer))];
  const spans = pieces.map((p) => ({
    index: buffers.indexOf(p.buffer as ArrayBuffer),
    offset: p.byteOffset,
    length: p.length,
  }));
  const back = structuredClone(buffers, { transfer: buffers });
  return spans.map((s) => new Uint8Array(back[s.index]!, s.offset, s.length));
}

/** A requester whose off-thread hasher is held until `release` (to see the order). */
function offThread() {
  const sent: ChunkRequest[] = [];
  const held: {
    pieces: readonly Uint8Array[];
    done: (d: { digest: Uint8Array; pieces: readonly Uint8Array[] }) => void;
  }[] = [];
  /** The pieces' lengths of each batch sent to be hashed. */
  const hashed: number[][] = [];
  const violations: Error[] = [];
  let failWith: Error | undefined;
  const r = new ChunkRequester({
    send: (req) => {
      sent.push(req);
      return Promise.resolve();
    },
    hashOffThread: (pieces) => {
      hashed.push(pieces.map((p) => p.length));
      if (failWith !== undefined) return Promise.reject(failWith);
      // Away at once, as a worker's job is.
      const away = handOver(pieces);
      return new Promise((done) => held.push({ pieces: away, done }));
    },
    misbehaved: (err) => violations.push(err),
  });
  const release = () => {
    for (const h of held.splice(0)) {
      const out = new Uint8Array(32 * h.pieces.length);
      h.pieces.forEach((p, i) => out.set(blake3(p), 32 * i));
      h.done({ digest: out, pieces: h.pieces });
    }
  };
  return {
    r,
    sent,
    hashed,
    violations,
    release,
    fail: (e: Error) => failWith = e,
  };
}

Deno.test("ChunkRequester hashes big chunks off the thread, small ones inline", async (t) => {
  const cases = [
    { name: "below the bound: inline", size: OFF_THREAD_MIN - 1, off: false },
    { name: "at the bound: off the thread", size: OFF_THREAD_MIN, off: true },
    { name: "a big chunk: off the thread", size: 256 * 1024, off: true },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const o = offThread();
      const data = new Uint8Array(c.size).fill(7);
      let answered = false;
      const p = o.r.request("f", blake3(data), 0, c.size).then((d) => {
        answered = true;
        return d;
      });
      await tick();
      o.r.handleResponse(ok(o.sent[0]!, data));
      await tick();
      assertEquals(o.hashed, c.off ? [[c.size]] : []);
      // Off the thread, the answer waits for the check.
      assertEquals(answered, !c.off);
      assertEquals(o.r.inFlight, c.off ? 1 : 0);
      o.release();
      assertEquals(await p, new Uint8Array(c.size).fill(7));
      assertEquals(o.r.inFlight, 0);
      assertEquals(o.r.rawBytes, c.size);
      assertEquals(o.violations, []);
    });
  }
});

Deno.test("ChunkRequester hands a pooled answer's buffer to the hasher: unreadable while away, the pool's again after", async () => {
  const o = offThread();
  const size = OFF_THREAD_MIN;
  const view = receivedMessages.take(size + 100).subarray(100);
  view.fill(9);
  const p = o.r.request("f", blake3(view), 0, size);
  await tick();
  o.r.handleResponse(ok(o.sent[0]!, view));
  await tick();
  // Away: no view on this thread can read, change or reuse it.
  assertEquals(view.length, 0);
  const kept = receivedMessages.keptBytes;
  receivedMessages.give(view);
  assertEquals(receivedMessages.keptBytes, kept);
  o.release();
  const data = await p;
  assertEquals(data, new Uint8Array(size).fill(9));
  assertEquals(data.byteOffset, 100);
  receivedMessages.give(data);
  assertEquals(receivedMessages.keptBytes, kept + data.buffer.byteLength);
  assert(receivedMessages.take(size + 100).buffer === data.buffer);
});

Deno.test("ChunkRequester: a mismatch found off the thread fails the request and reports the peer", async () => {
  const o = offThread();
  const data = new Uint8Array(OFF_THREAD_MIN).fill(1);
  const other = new Uint8Array(OFF_THREAD_MIN).fill(2);
  const p = o.r.request("f", blake3(data), 0, data.length);
  await tick();
  o.r.handleResponse(ok(o.sent[0]!, other)); // returns: checked later
  o.release();
  await assertRejects(() => p, ChunkHashMismatchError);
  assertEquals(o.violations.length, 1);
  assert(o.violations[0] instanceof ChunkHashMismatchError);
  assertEquals(o.r.rawBytes, 0);
  assertEquals(o.r.inFlight, 0);
});

Deno.test("ChunkRequester: a failed off-thread hash fails the request, not the peer", async () => {
  const o = offThread();
  o.fail(new Error("hasher closed"));
  const data = new Uint8Array(OFF_THREAD_MIN).fill(3);
  const p = o.r.request("f", blake3(data), 0, data.length);
  await tick();
  o.r.handleResponse(ok(o.sent[0]!, data));
  await assertRejects(() => p, Error, "hasher closed");
  assertEquals(o.violations, []);
  assertEquals(o.r.inFlight, 0);
});

Deno.test("ChunkRequester: closed while a chunk is checked, the late outcome is dropped", async () => {
  const o = offThread();
  const data = new Uint8Array(OFF_THREAD_MIN).fill(4);
  const other = new Uint8Array(OFF_THREAD_MIN).fill(5);
  const p = o.r.request("f", blake3(data), 0, data.length);
  await tick();
  o.r.handleResponse(ok(o.sent[0]!, other));
  o.r.close(new PeerGoneError("gone"));
  await assertRejects(() => p, PeerGoneError);
  o.release();
  await tick();
  await tick();
  assertEquals(o.violations, []);
  assertEquals(o.r.rawBytes, 0);
});

Deno.test("ChunkRequester batches off-thread checks: full, or when nothing else is awaited, or soon", async (t) => {
  const KiB = 1024;
  const cases = [
    {
      name: "answers of all requests in flight go at once",
      sizes: [64 * KiB, 64 * KiB, 64 * KiB],
      answered: 3,
      batches: [[64 * KiB, 64 * KiB, 64 * KiB]],
    },
    {
      name: "a full batch goes while answers are still awaited",
      sizes: [512 * KiB, 512 * KiB, 64 * KiB],
      answered: 2,
      batches: [[512 * KiB, 512 * KiB]],
    },
    {
      name: "one answer of two goes after a moment",
      sizes: [64 * KiB, 64 * KiB],
      answered: 1,
      batches: [[64 * KiB]],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const o = offThread();
      const datas = c.sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
      const copies = datas.map((d) => d.slice()); // the datas go away
      const answers = datas.map((d, i) =>
        o.r.request("f", blake3(d), i * 1 << 20, d.length)
      );
      await tick();
      for (let i = 0; i < c.answered; i++) {
        o.r.handleResponse(ok(o.sent[i]!, datas[i]!));
      }
      await waitFor(
        () => o.hashed.length >= c.batches.length,
        "the batches sent to be hashed",
      );
      assertEquals(o.hashed, c.batches);
      o.release();
      for (let i = 0; i < c.answered; i++) {
        assertEquals(await answers[i]!, copies[i]!);
      }
      o.r.close(new PeerGoneError("done"));
      await Promise.allSettled(answers);
      assertEquals(o.violations, []);
    });
  }
});

Deno.test("ChunkRequester: one bad chunk in a batch fails only its request", async () => {
  const o = offThread();
  const good = new Uint8Array(OFF_THREAD_MIN).fill(1);
  const bad = new Uint8Array(OFF_THREAD_MIN).fill(2);
  const p1 = o.r.request("f", blake3(good), 0, good.length);
  const p2 = o.r.request("f", blake3(good), 1 << 20, good.length);
  await tick();
  o.r.handleResponse(ok(o.sent[0]!, good));
  o.r.handleResponse(ok(o.sent[1]!, bad));
  assertEquals(o.hashed, [[OFF_THREAD_MIN, OFF_THREAD_MIN]]);
  o.release();
  assertEquals(await p1, new Uint8Array(OFF_THREAD_MIN).fill(1));
  await assertRejects(() => p2, ChunkHashMismatchError);
  assertEquals(o.violations.length, 1);
  assertEquals(o.r.rawBytes, OFF_THREAD_MIN);
});
