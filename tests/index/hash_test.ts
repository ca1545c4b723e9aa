import { assertEquals, assertThrows } from "../assert.ts";
import { createBLAKE3 } from "hash-wasm";
import {
  blake3,
  BLAKE3_LEN,
  Blake3Hasher,
  blake3Into,
  fromHex,
  toHex,
} from "../../src/index/hash.ts";
import { noise } from "../_noise.ts";

// Official BLAKE3 test vectors (BLAKE3-team/BLAKE3, test_vectors/test_vectors.json):
// input byte i is i % 251; "hash" mode, first 32 bytes of the output.
const VECTORS: [number, string][] = [
  [0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
  [1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"],
  [1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"],
  [1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"],
  [1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"],
  [2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"],
  [2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"],
  [3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"],
  [3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"],
  [4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"],
  [4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"],
  [5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"],
  [5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"],
  [6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"],
  [6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"],
  [7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"],
  [7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"],
  [8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"],
  [8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"],
  [16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"],
  [31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"],
  [102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"],
];

// Full 131-byte extended outputs of the one-chunk inputs.
const XOF_VECTORS: [number, string][] = [
  [
    0,
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a26f" +
    "5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421cce14d",
  ],
  [
    1,
    "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358" +
    "ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5",
  ],
  [
    1023,
    "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b05592b15607500e1e8dd56bc6c7fc063715b7a1d737df5bad3339c5" +
    "6778957d870eb9717b57ea3d9fb68d1b55127bba6a906a4a24bbd5acb2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f28f485",
  ],
  [
    1024,
    "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8505b95d8fcec83a98a6a96ea5109d2c179c47a387ffbb404756" +
    "f6eeae7883b446b70ebb144527c2075ab8ab204c0086bb22b7c93d465efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9afa684e",
  ],
];

function testInput(len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = i % 251;
  return out;
}

Deno.test("blake3() matches the official test vectors", () => {
  for (const [len, expected] of VECTORS) {
    const out = blake3(testInput(len));
    assertEquals(out.length, BLAKE3_LEN);
    assertEquals(toHex(out), expected, `input length ${len}`);
  }
});

Deno.test("blake3() matches the official vectors at unaligned offsets", () => {
  for (const [len, expected] of VECTORS) {
    const buf = new Uint8Array(len + 3);
    buf.set(testInput(len), 3);
    assertEquals(
      toHex(blake3(buf.subarray(3))),
      expected,
      `input length ${len}`,
    );
  }
});

Deno.test("blake3() gives the official extended output (XOF)", () => {
  for (const [len, expected] of XOF_VECTORS) {
    assertEquals(
      toHex(blake3(testInput(len), expected.length / 2)),
      expected,
      `input length ${len}`,
    );
  }
});

Deno.test("blake3() gives 64-byte extended output for any input length", () => {
  for (const [len, expected] of VECTORS) {
    const full = blake3(testInput(len), 64);
    assertEquals(
      toHex(full).slice(0, 64),
      expected,
      `input length ${len}`,
    );
  }
  const long = testInput(102400);
  assertEquals(
    toHex(blake3(long, 64)),
    "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085" +
      "e01c59dab908c04c3342b816941a26d69c2605ebee5ec5291cc55e15b76146e6",
  );
});

Deno.test("blake3() rejects a bad output length", () => {
  assertThrows(() => blake3(new Uint8Array(1), 0), RangeError);
  assertThrows(() => blake3(new Uint8Array(1), 1.5), RangeError);
  // Long XOF output of a multi-chunk input is refused rather than wrong.
  assertThrows(() => blake3(new Uint8Array(1025), 65), RangeError);
});

Deno.test("Blake3Hasher matches the official test vectors when fed in pieces", () => {
  for (const [len, expected] of VECTORS) {
    const input = testInput(len);
    for (const step of [1, 63, 64, 1000, 1024, 4097]) {
      if (step === 1 && len > 8193) continue; // keep the test fast
      const h = new Blake3Hasher();
      for (let off = 0; off < len; off += step) {
        h.update(input.subarray(off, off + step));
      }
      assertEquals(
        toHex(h.digest()),
        expected,
        `input length ${len}, step ${step}`,
      );
    }
  }
});

Deno.test("blake3() and Blake3Hasher agree with hash-wasm on large inputs", async () => {
  const reference = await createBLAKE3();
  for (const len of [4096 * 1024 + 1, (1 << 20) * 3 + 5, 1 << 22]) {
    const data = noise(len, len);
    const expected = reference.init().update(data).digest("hex");
    assertEquals(
      toHex(blake3(data)),
      expected,
      `one-shot, length ${len}`,
    );
    const h = new Blake3Hasher();
    for (let off = 0; off < len; off += 777_777) {
      h.update(data.subarray(off, off + 777_777));
    }
    assertEquals(
      toHex(h.digest()),
      expected,
      `incremental, length ${len}`,
    );
  }
});

Deno.test("blake3Into() writes the digest into the first 32 bytes of its output", () => {
  for (const len of [0, 1, 4095, 4096, 65_536, 300_001]) {
    const data = noise(len, len + 1);
    const out = new Uint8Array(BLAKE3_LEN + 8).fill(0xee);
    blake3Into(data, out);
    assertEquals(toHex(out.subarray(0, BLAKE3_LEN)), toHex(blake3(data)));
    assertEquals(out.subarray(BLAKE3_LEN), new Uint8Array(8).fill(0xee));
  }
  assertThrows(
    () => blake3Into(new Uint8Array(1), new Uint8Array(31)),
    RangeError,
  );
});

Deno.test("Blake3Hasher cannot be used after digest()", () => {
  const h = new Blake3Hasher().update(new Uint8Array(10));
  h.digest();
  assertThrows(() => h.digest(), TypeError);
  assertThrows(() => h.update(new Uint8Array(1)), TypeError);
});

Deno.test("toHex() and fromHex() round-trip", () => {
  const bytes = noise(300, 7);
  assertEquals(fromHex(toHex(bytes)), bytes);
  assertEquals(toHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
  assertEquals(
    fromHex("0001ABff"),
    new Uint8Array([0, 1, 0xab, 0xff]),
  );
  assertEquals(fromHex(""), new Uint8Array(0));
});

Deno.test("fromHex() throws TypeError on malformed hex", () => {
  for (const bad of ["a", "abc", "zz", "0g", " 00", "00 ", "0x00", "é0"]) {
    assertThrows(() => fromHex(bad), TypeError, undefined, JSON.stringify(bad));
  }
});

Deno.test("toHex spells every byte of every length in lower-case pairs", () => {
  const all = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
  for (let len = 0; len <= all.length; len += len < 70 ? 1 : 23) {
    const bytes = all.subarray(0, len);
    const expected = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
      .join("");
    assertEquals(toHex(bytes), expected, `length ${len}`);
    assertEquals(fromHex(toHex(bytes)), bytes.slice());
  }
  // Twice with one length (its code array is kept), each its own answer.
  assertEquals(toHex(Uint8Array.of(0, 255)), "00ff");
  assertEquals(toHex(Uint8Array.of(171, 16)), "ab10");
  assertEquals(
    toHex(Uint8Array.from({ length: 256 }, (_, i) => i)).slice(-4),
    "feff",
  );
});
