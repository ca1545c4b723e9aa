import {
  FrameReader,
  FrameSizeError,
  FrameWriter,
  MAX_FRAME_BODY,
  TruncatedFrameError,
} from "../../src/net/frame_io.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

/** Serves `data` in reads of at most `chunk` bytes, then EOF. */
function memoryReader(data: Uint8Array, chunk: number) {
  let off = 0;
  const reader = {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      reader.reads++;
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, chunk, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
  return reader;
}

/** Collects writes; accepts at most `max` bytes per call (short writes). */
function memoryWriter(max = Infinity) {
  const chunks: Uint8Array[] = [];
  const writer = {
    calls: 0,
    write(p: Uint8Array): Promise<number> {
      writer.calls++;
      const n = Math.min(p.length, max);
      chunks.push(p.slice(0, n));
      return Promise.resolve(n);
    },
    bytes(): Uint8Array {
      const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let o = 0;
      for (const c of chunks) (out.set(c, o), o += c.length);
      return out;
    },
  };
  return writer;
}

function body(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function encode(bodies: Uint8Array[]): Promise<Uint8Array> {
  const w = memoryWriter();
  const fw = new FrameWriter(w);
  for (const b of bodies) await fw.writeFrame(b);
  await fw.flush();
  return w.bytes();
}

Deno.test("FrameReader.readFrame() round-trips frames at any read size", async () => {
  const sizes = [0, 1, 2, 100, 65519, MAX_FRAME_BODY, 3, 40_000, 70, 65_000];
  const bodies = sizes.map((n, i) => body(n, i));
  const wire = await encode(bodies);
  for (const chunk of [1, 2, 3, 1000, 65_536, 1 << 20]) {
    const reader = new FrameReader(memoryReader(wire, chunk));
    for (const [i, want] of bodies.entries()) {
      const got = await reader.readFrame();
      assertEquals(got, want, `frame ${i} with chunk ${chunk}`);
    }
    assertEquals(await reader.readFrame(), null, "clean EOF");
    assertEquals(await reader.readFrame(), null, "EOF is sticky");
  }
});

Deno.test("FrameReader reads large chunks from the socket", async () => {
  const bodies = Array.from({ length: 64 }, (_, i) => body(16_000, i));
  const wire = await encode(bodies);
  const src = memoryReader(wire, 1 << 20);
  const reader = new FrameReader(src);
  for (let i = 0; i < bodies.length; i++) await reader.readFrame();
  // 1 MiB in a 256 KiB buffer: a handful of reads, not one per frame.
  assert(src.reads <= 12, `reads: ${src.reads}`);
});

Deno.test("FrameReader.readFrame() throws TruncatedFrameError on EOF mid-frame", async () => {
  const wire = await encode([body(500, 1), body(500, 2)]);
  for (const cut of [1, 2, 3, 501, 503, 1003]) {
    const reader = new FrameReader(memoryReader(wire.subarray(0, cut), 7));
    await assertRejects(
      async () => {
        for (let i = 0; i < 3; i++) await reader.readFrame();
      },
      TruncatedFrameError,
      undefined,
      `cut at ${cut}`,
    );
  }
});

Deno.test("FrameReader.readFrame() enforces body bounds with FrameSizeError", async () => {
  const wire = await encode([body(10, 1)]);
  await assertRejects(
    () =>
      new FrameReader(memoryReader(wire, 100), { minFrameBody: 17 })
        .readFrame(),
    FrameSizeError,
    "10",
  );
  await assertRejects(
    () =>
      new FrameReader(memoryReader(wire, 100), { maxFrameBody: 9 }).readFrame(),
    FrameSizeError,
  );
});

Deno.test("FrameReader.readExact() returns owned copies and mixes with frames", async () => {
  const head = body(48, 9);
  const frames = await encode([body(1000, 1), body(2, 2)]);
  const wire = new Uint8Array(head.length + frames.length);
  wire.set(head);
  wire.set(frames, head.length);
  const reader = new FrameReader(memoryReader(wire, 5));
  const a = await reader.readExact(16);
  const b = await reader.readExact(32);
  assertEquals(a, head.subarray(0, 16));
  assertEquals(b, head.subarray(16));
  assertEquals(await reader.readFrame(), body(1000, 1));
  assertEquals(await reader.readFrame(), body(2, 2));
  assertEquals(a, head.subarray(0, 16), "copy not clobbered by later reads");
  await assertRejects(() => reader.readExact(1), TruncatedFrameError);
});

Deno.test("FrameReader.readExact() handles reads larger than its buffer", async () => {
  const data = body(600_000, 3);
  const reader = new FrameReader(memoryReader(data, 70_000));
  assertEquals(await reader.readExact(10), data.subarray(0, 10));
  assertEquals(await reader.readExact(599_990), data.subarray(10));
});

Deno.test("FrameWriter coalesces small frames into one write", async () => {
  const w = memoryWriter();
  const fw = new FrameWriter(w);
  for (let i = 0; i < 1000; i++) await fw.writeFrame(body(40, i));
  assertEquals(w.calls, 0, "nothing written before flush");
  await fw.flush();
  assertEquals(w.calls, 1);
  assertEquals(w.bytes().length, 1000 * 42);
});

Deno.test("FrameWriter stays bounded and survives short writes", async () => {
  const w = memoryWriter(1000);
  const fw = new FrameWriter(w);
  const bodies = Array.from(
    { length: 20 },
    (_, i) => body(MAX_FRAME_BODY - i, i),
  );
  for (const b of bodies) {
    await fw.writeFrame(b);
    assert(fw.buffered <= 2 * 256 * 1024, `buffered ${fw.buffered}`);
  }
  await fw.flush();
  const reader = new FrameReader(memoryReader(w.bytes(), 4096));
  for (const b of bodies) assertEquals(await reader.readFrame(), b);
  assertEquals(await reader.readFrame(), null);
});

Deno.test("FrameWriter.writeFrame() refuses a body over 65535 bytes", async () => {
  const fw = new FrameWriter(memoryWriter());
  await assertRejects(
    () => fw.writeFrame(new Uint8Array(MAX_FRAME_BODY + 1)),
    FrameSizeError,
  );
});

Deno.test("FrameWriter.writeFrameWith() fills the body in place", async () => {
  const w = memoryWriter();
  const fw = new FrameWriter(w);
  const bodies = [
    body(3, 1),
    body(MAX_FRAME_BODY, 2),
    body(200_000 % 65_536, 3),
  ];
  for (const b of bodies) {
    await fw.writeFrameWith(b.length, (buf, offset) => buf.set(b, offset));
  }
  await fw.flush();
  assertEquals(fw.written, fw.appended);
  const reader = new FrameReader(memoryReader(w.bytes(), 10_000));
  for (const b of bodies) assertEquals(await reader.readFrame(), b);
  await assertRejects(
    () => fw.writeFrameWith(MAX_FRAME_BODY + 1, () => {}),
    FrameSizeError,
  );
});
