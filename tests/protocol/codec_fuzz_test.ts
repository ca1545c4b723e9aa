/**
 * Seeded, bounded fuzzing of the message decoder with inputs the mutation
 * fuzz of codec_test.ts does not reach: random bytes behind each type byte,
 * runaway varints, and structurally plausible messages whose fields are
 * drawn at random from edge values (encoded by the unchecked spec encoder).
 * Decoding must throw only `ProtocolError` subclasses, and whatever decodes
 * must encode back to the same bytes.
 */
import {
  decodeMessage,
  encodeMessage,
  type Message,
  ProtocolError,
} from "../../src/protocol/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { hashOf, prng, specEncode } from "./_fixtures.ts";

function check(input: Uint8Array, where: string): boolean {
  let decoded: Message;
  try {
    decoded = decodeMessage(input);
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`${where}: ${error}`);
    }
    return false;
  }
  assertEquals(encodeMessage(decoded), input, where);
  return true;
}

Deno.test("decodeMessage() only throws ProtocolError on random bytes behind every type byte (seeded fuzz)", () => {
  const random = prng(0xdec0de);
  const int = (n: number) => Math.floor(random() * n);
  let accepted = 0;
  for (let iteration = 0; iteration < 30_000; iteration++) {
    const length = int(4) === 0 ? int(2_000) : int(24);
    const bytes = new Uint8Array(length + 1);
    bytes[0] = int(8); // types 0..7: the six known and two unknown
    for (let i = 1; i < bytes.length; i++) {
      // Skewed towards small values and varint continuation bytes.
      bytes[i] = int(3) === 0
        ? 0x80 | int(128)
        : int(3) === 0
        ? int(4)
        : int(256);
    }
    if (check(bytes, `iteration ${iteration}`)) accepted++;
  }
  assert(accepted > 0, "some random inputs should decode");
});

Deno.test("decodeMessage() refuses runaway and overlong varints with a ProtocolError", () => {
  for (let type = 1; type <= 6; type++) {
    for (const run of [9, 10, 11, 64, 100_000]) {
      const bytes = new Uint8Array(2 + run).fill(0xff);
      bytes[0] = type;
      bytes[bytes.length - 1] = 0x01;
      assert(!check(bytes, `type ${type}, ${run} continuation bytes`));
    }
    // Non-shortest forms (a zero padded with continuation bytes).
    assert(
      !check(Uint8Array.of(type, 0x80, 0x00), `type ${type}, padded zero`),
    );
  }
});

Deno.test("decodeMessage() only throws ProtocolError on plausible messages with random field values (seeded fuzz)", () => {
  const random = prng(0x5eed_f1e1d);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(values: readonly T[]): T => values[int(values.length)]!;
  const bigs = [
    0n,
    1n,
    127n,
    128n,
    (1n << 53n) - 1n,
    1n << 53n,
    (1n << 63n) - 1n,
    1n << 63n,
    (1n << 64n) - 1n,
    1n << 64n,
  ];
  const sizes = [0, 1, 16_384, 65_536, 262_144, 262_145, 2 ** 53 - 1];
  const paths = [
    "a",
    "dir/file.txt",
    "",
    "../x",
    "/abs",
    "a\0b",
    "a\\b",
    "CON",
    "caf\u00e9",
    "cafe\u0301",
    "x".repeat(300),
    "d/".repeat(2100) + "f",
    ".dsync/index.db",
    "\ud800",
  ];
  const hashes = [new Uint8Array(0), hashOf(1), hashOf(2, 31), hashOf(3, 33)];
  let accepted = 0;
  for (let iteration = 0; iteration < 6_000; iteration++) {
    // deno-lint-ignore no-explicit-any
    let msg: any;
    switch (int(6)) {
      case 0:
        msg = {
          type: "hello",
          protocolVersion: pick([0, 1, 2, 300]),
          replicaId: pick(bigs),
          name: pick(["", "laptop", "x".repeat(64), "a\u0007b"]),
          flagsByte: pick([0, 1, 2, 255]),
        };
        break;
      case 1:
      case 2: {
        const records = [];
        const count = int(4);
        for (let i = 0; i < count; i++) {
          const chunks = [];
          const chunkCount = int(3);
          for (let c = 0; c < chunkCount; c++) {
            chunks.push({
              length: pick([0, 1, 100, 262_144, 262_145]),
              hash: pick(hashes),
            });
          }
          const version = [];
          const entries = int(3);
          for (let e = 0; e < entries; e++) {
            version.push({ replica: pick(bigs), counter: pick(bigs) });
          }
          records.push({
            path: pick(paths),
            kindCode: pick([0, 0, 1, 2, 3]),
            flagsByte: pick([0, 0, 1, 2, 3, 4]),
            size: pick(sizes),
            mtimeNs: pick([0n, -1n, 1n << 62n, -(1n << 63n)]),
            sequence: pick(bigs.slice(0, 8)),
            version,
            hash: pick(hashes),
            chunks,
            symlinkTarget: pick(["t", "", "a\0b", "../../etc"]),
          });
        }
        msg = {
          type: "index_batch",
          lastByte: pick([0, 1, 2]),
          records,
        };
        break;
      }
      case 3:
        msg = { type: pick(["index_ack", "in_sync"]), sequence: pick(bigs) };
        break;
      case 4:
        msg = {
          type: "chunk_request",
          id: pick([0, 1, 0xffff_ffff, 2 ** 32]),
          path: pick(paths),
          hash: pick(hashes),
          offset: pick(sizes),
          length: pick(sizes),
        };
        break;
      default: {
        const rawLength = pick([0, 1, 40, 262_144, 262_145, 10_000_000_000]);
        msg = {
          type: "chunk_response",
          id: pick([0, 7, 0xffff_ffff]),
          statusCode: pick([0, 1, 2, 3, 4]),
          compressionCode: pick([0, 1, 2]),
          rawLength,
          data: new Uint8Array(pick([0, 1, 40, 39, 41])),
        };
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = specEncode(msg);
    } catch {
      continue; // the spec encoder cannot write some values (lone surrogates)
    }
    if (check(bytes, `iteration ${iteration}: ${msg.type}`)) accepted++;
  }
  assert(accepted > 0, "some plausible messages should decode");
});
