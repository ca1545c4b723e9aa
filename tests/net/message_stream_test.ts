import {
  MessageAssembler,
  MessageTooLargeError,
  POOLED_FROM,
  writeMessageHeader,
} from "../../src/net/message_stream.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { pattern } from "./_helpers.ts";
import { BufferPool } from "../../src/protocol/mod.ts";

/** The stream bytes of `messages`: u32 length ‖ bytes each. */
function stream(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 4 + m.length, 0));
  let o = 0;
  for (const m of messages) {
    writeMessageHeader(out.subarray(o), m.length);
    out.set(m, o + 4);
    o += 4 + m.length;
  }
  return out;
}

/** Pushes `bytes` in chunks of `chunk` and collects every message. */
function reassemble(bytes: Uint8Array, chunk: number, max = 1 << 24) {
  const assembler = new MessageAssembler(max);
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += chunk) {
    assembler.push(bytes.subarray(o, o + chunk));
    for (let m; (m = assembler.next()) !== undefined;) out.push(m);
  }
  return { out, assembler };
}

Deno.test("MessageAssembler reassembles messages across any chunking", () => {
  const messages = [0, 1, 3, 4, 5, 100, 65_518, 65_536, 0, 2_000_000, 7].map(
    (n, i) => pattern(n, i),
  );
  const bytes = stream(messages);
  for (const chunk of [1, 2, 3, 4, 5, 7, 1000, 65_518, 1 << 20, bytes.length]) {
    const { out, assembler } = reassemble(bytes, chunk);
    assertEquals(out, messages, `chunk ${chunk}`);
    assert(assembler.atBoundary, `boundary after chunk ${chunk}`);
  }
});

Deno.test("MessageAssembler refuses a length over the cap, even split", () => {
  const header = writeMessageHeader(new Uint8Array(4), 1001);
  for (const chunk of [1, 2, 4]) {
    assertThrows(
      () => reassemble(header, chunk, 1000),
      MessageTooLargeError,
      "1001",
      `chunk ${chunk}`,
    );
  }
  // Exactly the cap is fine.
  const { out } = reassemble(stream([pattern(1000, 1)]), 10, 1000);
  assertEquals(out, [pattern(1000, 1)]);
});

Deno.test("MessageAssembler tells when the stream stops inside a message", () => {
  const bytes = stream([pattern(50, 1), pattern(50, 2)]);
  const cases: [cut: number, boundary: boolean, where: string][] = [
    [0, true, ""],
    [2, false, "2 of 4 header bytes"],
    [54, true, ""],
    [60, false, "2 of 50 message bytes"],
    [108, true, ""],
  ];
  for (const [cut, boundary, where] of cases) {
    const { assembler } = reassemble(bytes.subarray(0, cut), 5);
    assertEquals(assembler.atBoundary, boundary, `cut ${cut}`);
    if (!boundary) assertEquals(assembler.describe(), where);
  }
});

Deno.test("MessageAssembler copies small messages and views large ones", () => {
  const chunk = stream([pattern(10, 1), pattern(1000, 2)]);
  const assembler = new MessageAssembler(1 << 20);
  assembler.push(chunk);
  const small = assembler.next()!;
  const large = assembler.next()!;
  assert(small.buffer !== chunk.buffer, "small message is a copy");
  assert(large.buffer === chunk.buffer, "large message is a view");
  assertEquals(assembler.next(), undefined);
});

Deno.test("MessageAssembler.push() refuses new data before the old is used", () => {
  const assembler = new MessageAssembler(100);
  assembler.push(stream([pattern(1, 1), pattern(1, 2)]));
  assertEquals(assembler.next(), pattern(1, 1));
  assertThrows(() => assembler.push(new Uint8Array(1)), Error, "before next()");
});

Deno.test("MessageAssembler assembles a message spanning frames in a pooled buffer, used again once given back", () => {
  const pool = new BufferPool(1 << 20);
  const assembler = new MessageAssembler(1 << 20, pool);
  const message = new Uint8Array(50_000).map((_, i) => i & 0xff);
  const bytes = stream([message]);
  const receive = () => {
    let out: Uint8Array | undefined;
    for (let at = 0; at < bytes.length; at += 20_000) {
      assembler.push(bytes.subarray(at, at + 20_000));
      out = assembler.next() ?? out;
      assertEquals(assembler.next(), undefined);
    }
    return out!;
  };
  const first = receive();
  assertEquals(first, message);
  pool.give(first);
  const second = receive();
  assertEquals(second, message);
  assert(second.buffer === first.buffer);
});

Deno.test("MessageAssembler copies a chunk-sized message lying in a larger push into a pooled buffer", () => {
  const pool = new BufferPool(1 << 20);
  const assembler = new MessageAssembler(1 << 20, pool);
  const chunkSized = pattern(POOLED_FROM, 3);
  const small = pattern(POOLED_FROM - 1, 4);
  // Each under half of the push: copied out, not viewed.
  const bytes = stream([chunkSized, small, pattern(40_000, 5)]);
  assembler.push(bytes);
  const first = assembler.next()!;
  const second = assembler.next()!;
  assertEquals([first, second], [chunkSized, small]);
  assert(first.buffer !== bytes.buffer && second.buffer !== bytes.buffer);
  // The chunk-sized one is the pool's: given back, it is taken again.
  pool.give(first);
  pool.give(second);
  assert(pool.take(POOLED_FROM).buffer === first.buffer);
  assertEquals(pool.keptBytes, 0);
});
