/**
 * Block requests end to end inside one process: a `BlockRequester` asking
 * a real `ChunkResponder` over a real file gets the changed chunk as the
 * blocks that differ (raw to a loopback peer, LZ4 to a peer on a link),
 * verified whole; an answer that does not assemble fails the request only
 * (the caller asks whole); an answer that does not fit its request, or
 * answers none, is a protocol violation.
 */
import { waitFor } from "../../_wait.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../assert.ts";
import { noise } from "../../_noise.ts";
import { blake3 } from "../../../src/index/hash.ts";
import {
  type BlockRequest,
  type BlockResponse,
  MalformedMessageError,
} from "../../../src/protocol/mod.ts";
import {
  BlockRequester,
  ChunkResponder,
  ChunkUnavailableError,
  PeerGoneError,
  UnsolicitedResponseError,
} from "../../../src/sync/session/mod.ts";
import { BlockDeltaMismatchError } from "../../../src/sync/delta/mod.ts";

const noIgnore = { ignores: () => false };

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Text-like bytes (LZ4 halves them), `size` long. */
function text(size: number, seed: number): Uint8Array {
  const words = ["alpha ", "beta ", "gamma ", "delta\n", "epsilon "];
  const out = new Uint8Array(size);
  const enc = new TextEncoder();
  let x = seed;
  for (let at = 0; at < size;) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = enc.encode(words[x % words.length]!);
    out.set(w.subarray(0, size - at), at);
    at += w.length;
  }
  return out;
}

Deno.test("BlockRequester gets a changed chunk from a ChunkResponder as the blocks that differ, raw on loopback and LZ4 on a link", () =>
  withFolder(async (dir) => {
    for (const loopback of [true, false]) {
      const old = text(200_000, 5);
      const next = old.slice();
      next.set(noise(5000, 6), 70_000); // blocks 17 and 18
      await Deno.writeFile(`${dir}/f`, next);
      const answers: BlockResponse[] = [];
      const requester = new BlockRequester((request) => {
        responder.handle(request);
        return Promise.resolve();
      });
      const responder = new ChunkResponder({
        folder: dir,
        ignore: noIgnore,
        loopback,
        to: {
          send: (response) => {
            answers.push(response as BlockResponse);
            requester.handleResponse(response as BlockResponse);
            return Promise.resolve();
          },
        },
      });
      const chunk = await requester.request("f", blake3(next), 0, old);
      await responder.close();
      assertEquals(chunk, next);
      assertEquals(answers.length, 1);
      const answer = answers[0]!;
      assertEquals(answer.rawLength, 2 * 4096, "two blocks differ");
      assertEquals(answer.compression, loopback ? "none" : "lz4");
      assert(requester.wireBytes <= 2 * 4096, `${requester.wireBytes} bytes`);
      assertEquals(requester.inFlightBytes, 0);
    }
  }));

/** A requester whose requests are kept in `asked` for the test to answer. */
function manualRequester(): {
  requester: BlockRequester;
  asked: BlockRequest[];
} {
  const asked: BlockRequest[] = [];
  const requester = new BlockRequester((request) => {
    asked.push(request);
    return Promise.resolve();
  });
  return { requester, asked };
}

function okAnswer(
  id: number,
  bitmap: Uint8Array,
  data: Uint8Array,
): BlockResponse {
  return {
    type: "block_response",
    id,
    status: "ok",
    compression: "none",
    bitmap,
    rawLength: data.length,
    data,
  };
}

Deno.test("BlockRequester fails only the request when the blocks do not assemble to the chunk's hash", async () => {
  const { requester, asked } = manualRequester();
  const old = noise(10_000, 1);
  const next = old.slice();
  next[0]! ^= 1;
  const pending = requester.request("f", blake3(next), 0, old);
  await waitFor(() => asked.length === 1, "the request", 1000, 1);
  // Block 0 "differs", but the source sends wrong bytes for it.
  requester.handleResponse(
    okAnswer(asked[0]!.id, Uint8Array.of(1), noise(4096, 9)),
  );
  await assertRejects(() => pending, BlockDeltaMismatchError);
  assertEquals(requester.inFlightBytes, 0);
});

Deno.test("BlockRequester refuses answers that do not fit their request or answer none", async () => {
  const { requester, asked } = manualRequester();
  const old = noise(10_000, 2); // 3 blocks
  const cases: [string, (id: number) => BlockResponse][] = [
    [
      "a bitmap of 2 bytes",
      (id) => okAnswer(id, Uint8Array.of(1, 0), noise(4096, 1)),
    ],
    [
      "a bit past the last block",
      (id) => okAnswer(id, Uint8Array.of(0b1000), noise(4096, 1)),
    ],
    [
      "a raw length that is not the marked blocks'",
      (id) => okAnswer(id, Uint8Array.of(1), noise(100, 1)),
    ],
  ];
  for (const [what, answer] of cases) {
    const pending = requester.request("f", blake3(old), 0, old);
    pending.catch(() => {});
    await waitFor(() => asked.length > 0, "the request", 1000, 1);
    const id = asked.shift()!.id;
    assertThrows(
      () => requester.handleResponse(answer(id)),
      MalformedMessageError,
      undefined,
      what,
    );
    await assertRejects(() => pending, MalformedMessageError, undefined, what);
  }
  assertThrows(
    () =>
      requester.handleResponse(
        okAnswer(999, Uint8Array.of(0), new Uint8Array(0)),
      ),
    UnsolicitedResponseError,
  );
});

Deno.test("BlockRequester reports a source that cannot serve the chunk, and fails what is in flight on close", async () => {
  const { requester, asked } = manualRequester();
  const old = noise(10_000, 3);
  const changed = requester.request("f", blake3(old), 0, old);
  await waitFor(() => asked.length === 1, "the request", 1000, 1);
  requester.handleResponse({
    type: "block_response",
    id: asked[0]!.id,
    status: "changed",
    compression: "none",
    bitmap: new Uint8Array(0),
    rawLength: 0,
    data: new Uint8Array(0),
  });
  const err = await assertRejects(() => changed, ChunkUnavailableError);
  assertEquals((err as ChunkUnavailableError).status, "changed");
  const gone = requester.request("f", blake3(old), 0, old);
  requester.close(new PeerGoneError("closed"));
  await assertRejects(() => gone, PeerGoneError);
  await assertRejects(
    () => requester.request("f", blake3(old), 0, old),
    PeerGoneError,
  );
});
