/**
 * Seeded, bounded fuzzing of the transport's receiving side: the frame
 * reader, the message assembler and a `SecureChannel` fed random and mutated
 * byte streams. Every input must end in a message, a clean end, or one of
 * the named errors; nothing may throw anything else or hang (each run is an
 * in-memory stream that ends, and loops are bounded).
 */
import { Buffer } from "node:buffer";
import { DecryptError } from "../../src/crypto/errors.ts";
import { TransportCipher } from "../../src/crypto/transport_cipher.ts";
import {
  FrameReader,
  FrameSizeError,
  TruncatedFrameError,
} from "../../src/net/frame_io.ts";
import {
  MessageAssembler,
  MessageTooLargeError,
  writeMessageHeader,
} from "../../src/net/message_stream.ts";
import {
  FRAME_DATA,
  FRAME_GOODBYE,
  FRAME_PING,
  FRAME_PONG,
  FrameProtocolError,
  SecureChannel,
  TRANSPORT_FRAME_MIN,
} from "../../src/net/secure_channel.ts";
import { assert, assertEquals } from "../assert.ts";
import { SeededRandom } from "../crypto/_random.ts";
import { channelPair } from "./_helpers.ts";

/** A connection that delivers `bytes` in random slices, then ends. */
class ScriptedConn {
  #bytes: Uint8Array;
  #pos = 0;
  #random: SeededRandom;
  written = 0;

  constructor(bytes: Uint8Array, random: SeededRandom) {
    this.#bytes = bytes;
    this.#random = random;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#pos >= this.#bytes.length) return Promise.resolve(null);
    const n = Math.min(
      p.length,
      this.#bytes.length - this.#pos,
      1 + this.#random.below(this.#random.below(4) === 0 ? 70_000 : 64),
    );
    p.set(this.#bytes.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return Promise.resolve(n);
  }

  write(p: Uint8Array): Promise<number> {
    this.written += p.length;
    return Promise.resolve(p.length);
  }

  close(): void {}
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >>> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

/** Flips, overwrites, inserts, deletes or cuts a few bytes. */
function mutate(bytes: Uint8Array, random: SeededRandom): Uint8Array {
  const out = Array.from(bytes);
  const count = 1 + random.below(4);
  for (let m = 0; m < count; m++) {
    const at = random.below(out.length + 1);
    switch (random.below(5)) {
      case 0:
        if (at < out.length) out[at] = out[at]! ^ (1 << random.below(8));
        break;
      case 1:
        if (at < out.length) out[at] = random.below(256);
        break;
      case 2:
        out.splice(at, 0, ...random.bytes(1 + random.below(4)));
        break;
      case 3:
        out.splice(at, 1 + random.below(4));
        break;
      case 4:
        out.length = at;
        break;
    }
  }
  return Uint8Array.from(out);
}

function isNamed(error: unknown, names: readonly string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

Deno.test("FrameReader.readFrame() only yields frames, a clean end, TruncatedFrameError or FrameSizeError (seeded fuzz)", async () => {
  const random = new SeededRandom(0xf4a3e);
  const counts = { clean: 0, truncated: 0, size: 0 };
  for (let iteration = 0; iteration < 2_000; iteration++) {
    const bodies: Uint8Array[] = [];
    const frames = random.below(6);
    for (let i = 0; i < frames; i++) {
      bodies.push(
        random.bytes(
          random.below(8) === 0 ? random.below(65_536) : random.below(40),
        ),
      );
    }
    let stream = concat(bodies.map(frame));
    let mutated = random.below(3) !== 0;
    if (mutated) stream = mutate(stream, random);
    if (random.below(10) === 0) {
      stream = random.bytes(random.below(300));
      mutated = true;
    }
    const reader = new FrameReader(new ScriptedConn(stream, random), {
      minFrameBody: TRANSPORT_FRAME_MIN,
    });
    const got: Uint8Array[] = [];
    try {
      for (let i = 0; i <= stream.length; i++) {
        const body = await reader.readFrame();
        if (body === null) break;
        got.push(body.slice());
      }
      counts.clean++;
    } catch (error) {
      if (error instanceof TruncatedFrameError) counts.truncated++;
      else if (error instanceof FrameSizeError) counts.size++;
      else throw new Error(`Iteration ${iteration}: ${error}`);
    }
    if (!mutated && stream.length > 0) {
      // An intact stream reads back exactly (bodies below the minimum
      // are refused by size).
      const firstSmall = bodies.findIndex((b) =>
        b.length < TRANSPORT_FRAME_MIN
      );
      const expected = firstSmall < 0 ? bodies : bodies.slice(0, firstSmall);
      assertEquals(got, expected, `iteration ${iteration}`);
    }
  }
  assert(
    counts.clean > 0 && counts.truncated > 0 && counts.size > 0,
    JSON.stringify(counts),
  );
});

Deno.test("MessageAssembler only yields messages or throws MessageTooLargeError (seeded fuzz)", () => {
  const random = new SeededRandom(0xa55e);
  const cap = 5_000;
  let tooLarge = 0;
  let messagesSeen = 0;
  for (let iteration = 0; iteration < 3_000; iteration++) {
    const messages: Uint8Array[] = [];
    const parts: Uint8Array[] = [];
    const count = random.below(8);
    for (let i = 0; i < count; i++) {
      const length = random.below(16) === 0
        ? random.below(2 * cap)
        : random.below(100);
      const message = random.bytes(length);
      messages.push(message);
      const header = new Uint8Array(4);
      writeMessageHeader(header, length);
      parts.push(header, message);
    }
    let stream = concat(parts);
    const mutated = random.below(2) === 0;
    if (mutated) stream = mutate(stream, random);
    const assembler = new MessageAssembler(cap);
    const out: Uint8Array[] = [];
    try {
      for (let pos = 0; pos < stream.length;) {
        const n = 1 + random.below(200);
        assembler.push(stream.subarray(pos, pos + n));
        pos += n;
        for (let m; (m = assembler.next()) !== undefined;) out.push(m.slice());
      }
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) {
        throw new Error(`Iteration ${iteration}: ${error}`);
      }
      tooLarge++;
      continue;
    }
    messagesSeen += out.length;
    if (!mutated) {
      assertEquals(out, messages, `iteration ${iteration}`);
      assert(assembler.atBoundary);
    }
  }
  assert(tooLarge > 0 && messagesSeen > 0);
});

const CHANNEL_ERRORS = [
  "FrameProtocolError",
  "MessageTooLargeError",
  "DecryptError",
  "TruncatedFrameError",
  "FrameSizeError",
] as const;

/** A random frame plaintext, mostly well-formed. */
function randomPlaintext(random: SeededRandom, cap: number): Uint8Array {
  switch (random.below(8)) {
    case 0:
      return Uint8Array.of(
        FRAME_PING,
        ...random.bytes(random.below(3) === 0 ? random.below(12) : 8),
      );
    case 1:
      return Uint8Array.of(
        FRAME_PONG,
        ...random.bytes(random.below(3) === 0 ? random.below(12) : 8),
      );
    case 2:
      return Uint8Array.of(
        FRAME_GOODBYE,
        ...random.bytes(random.below(4) === 0 ? random.below(400) : 10),
      );
    case 3:
      return Uint8Array.of(
        random.below(256),
        ...random.bytes(random.below(20)),
      );
    case 4:
      return new Uint8Array(0);
    default: {
      // DATA: messages (header + body), sometimes cut or with a wild header.
      const parts: Uint8Array[] = [Uint8Array.of(FRAME_DATA)];
      const count = random.below(4);
      for (let i = 0; i < count; i++) {
        const length = random.below(10) === 0
          ? cap + random.below(10)
          : random.below(200);
        const header = new Uint8Array(4);
        writeMessageHeader(header, length);
        parts.push(
          header,
          random.bytes(
            random.below(6) === 0 ? random.below(length + 1) : length,
          ),
        );
      }
      return concat(parts);
    }
  }
}

Deno.test("SecureChannel.receive() only returns messages, null, or throws the named channel errors (seeded fuzz)", async () => {
  const random = new SeededRandom(0xc4a77e1);
  const seen = new Map<string, number>();
  const cap = 1_000;
  for (let iteration = 0; iteration < 1_500; iteration++) {
    const key = random.bytes(32);
    const sealer = new TransportCipher(key);
    const frames: Uint8Array[] = [];
    const count = 1 + random.below(10);
    for (let i = 0; i < count; i++) {
      const sealed = sealer.seal(randomPlaintext(random, cap));
      frames.push(
        frame(random.below(12) === 0 ? mutate(sealed, random) : sealed),
      );
    }
    let stream = concat(frames);
    if (random.below(8) === 0) stream = mutate(stream, random);
    const conn = new ScriptedConn(stream, random);
    const channel = new SecureChannel(conn, {
      peerId: new Uint8Array(32),
      sender: new TransportCipher(random.bytes(32)),
      receiver: new TransportCipher(key),
    }, { maxMessageSize: cap, remoteAddr: "fuzz" });
    let outcome = "null";
    try {
      for (let i = 0; i < 10_000; i++) {
        const message = await channel.receive();
        if (message === null) break;
        assert(message.length <= cap);
        outcome = "message";
      }
    } catch (error) {
      if (!isNamed(error, CHANNEL_ERRORS)) {
        throw new Error(`Iteration ${iteration}: ${error}`);
      }
      if (
        error instanceof DecryptError || error instanceof FrameProtocolError
      ) {
        // Once failed, the channel stays failed with that error.
        const again = await channel.receive().then(() => undefined, (e) => e);
        assertEquals(again, error);
      }
      outcome = (error as Error).name;
    }
    seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    channel.abort(new Error("fuzz iteration done"));
    await channel.closed;
  }
  for (
    const name of [
      "FrameProtocolError",
      "MessageTooLargeError",
      "DecryptError",
      "TruncatedFrameError",
    ]
  ) {
    assert(
      (seen.get(name) ?? 0) > 0,
      `${name} never seen: ${JSON.stringify([...seen])}`,
    );
  }
});

Deno.test("SecureChannel.send() rejects when the peer cuts the connection in the middle of a large message", async () => {
  // Regression: the message being packed when a write failed was in no
  // list, so its send() never settled and pinned the message.
  const pair = await channelPair({ clientMaxMessageSize: 64 << 20 });
  try {
    const sent = pair.client.send(new Uint8Array((16 << 20) + 1)).then(
      () => "written",
      (error: Error) => error.name,
    );
    // The server refuses the announced length and closes.
    const refused = await pair.serverSide.receive().then(
      () => "message",
      (error: Error) => error.name,
    );
    assertEquals(refused, "MessageTooLargeError");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      sent,
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve("still pending"), 20_000);
      }),
    ]);
    clearTimeout(timer);
    assert(outcome !== "still pending" && outcome !== "written", outcome);
  } finally {
    await pair.close();
  }
});
