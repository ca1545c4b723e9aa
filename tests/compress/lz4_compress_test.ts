import {
  compressLz4Block,
  lz4BlockBound,
} from "../../src/compress/_lz4_compress.ts";
import { decodeLz4Block } from "../../src/compress/_lz4_block.ts";
import {
  compressLz4BlockWasm,
  decodeLz4BlockWasm,
  lz4WasmAvailable,
  WASM_MAX,
} from "../../src/compress/_lz4_wasm.ts";
import { assert, assertEquals } from "../assert.ts";
import { noise } from "../_noise.ts";

function compress(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(lz4BlockBound(data.length));
  const n = compressLz4Block(data, out);
  assert(n > 0, `block for ${data.length} bytes`);
  return out.subarray(0, n);
}

function decode(block: Uint8Array, rawLength: number): Uint8Array {
  const out = new Uint8Array(rawLength);
  assertEquals(decodeLz4Block(block, out), undefined);
  return out;
}

function text(n: number, seed: number): Uint8Array {
  const words = ["let", "const", " = ", "await", "(x)", ";\n", "record", "  "];
  let s = "";
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += words[x % words.length];
  }
  return new TextEncoder().encode(s.slice(0, n));
}

/** Inputs of every shape: empty, tiny, runs, text, random, and mixes. */
function shapes(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const n of [0, 1, 4, 12, 13, 14, 17, 100, 1000, 65_536, 262_144]) {
    out.push([`zeros ${n}`, new Uint8Array(n)]);
    out.push([`text ${n}`, text(n, n + 1)]);
    out.push([`random ${n}`, noise(n, n + 2)]);
    const mixed = noise(n, n + 3);
    for (let i = 0; i < n; i++) if ((i >> 9) % 2 === 0) mixed[i] = i & 3;
    out.push([`mixed ${n}`, mixed]);
  }
  // Matches that end at every distance from each other and from the end
  // (the match search compares 8, then 4 bytes, then single bytes).
  for (let k = 0; k < 24; k++) {
    const stop = new Uint8Array(80);
    stop[79 - k] = 1;
    stop[40 - (k >> 1)] = 2;
    out.push([`match ending ${k} before the end`, stop]);
  }
  // Matches longer than 255 + 19 and literal runs longer than 255 + 15.
  const long = new Uint8Array(5000);
  long.set(noise(600, 9));
  long.set(noise(600, 9), 1200);
  out.push(["long literals and matches", long]);
  // A repeat more than 64 KiB back cannot be referenced.
  const far = new Uint8Array(140_000);
  far.set(noise(1000, 10));
  far.set(noise(68_000, 11), 1000);
  far.set(noise(1000, 10), 69_000);
  out.push(["repeat beyond the window", far]);
  return out;
}

Deno.test("compressLz4Block() round-trips every shape through decodeLz4Block()", () => {
  for (const [name, data] of shapes()) {
    const block = compress(data);
    assert(block.length <= lz4BlockBound(data.length), name);
    assertEquals(decode(block, data.length), data, name);
  }
});

Deno.test("compressLz4Block() returns -1 when the block would not fit", () => {
  const random = noise(65_536, 5);
  assertEquals(compressLz4Block(random, new Uint8Array(60_000)), -1);
  const data = text(65_536, 6);
  const full = compress(data);
  assertEquals(
    compressLz4Block(data, new Uint8Array(full.length - 1)),
    -1,
  );
  // Exactly enough room is enough.
  const exact = new Uint8Array(full.length);
  assertEquals(compressLz4Block(data, exact), full.length);
  assertEquals(exact, full);
  assertEquals(compressLz4Block(new Uint8Array(0), new Uint8Array(0)), -1);
});

Deno.test("compressLz4Block() keeps the format's end rules", () => {
  // The last 5 bytes are literals and no match starts in the last 12
  // bytes: walk the sequences of a block and check where each match lies.
  for (const [name, data] of shapes()) {
    if (data.length === 0) continue;
    const block = compress(data);
    let ip = 0;
    let op = 0;
    while (true) {
      const token = block[ip++]!;
      let lit = token >> 4;
      if (lit === 15) {
        let b;
        do lit += b = block[ip++]!; while (b === 255);
      }
      ip += lit;
      op += lit;
      if (ip === block.length) break;
      ip += 2;
      let match = token & 15;
      if (match === 15) {
        let b;
        do match += b = block[ip++]!; while (b === 255);
      }
      assert(op <= data.length - 12, `${name}: match starts at ${op}`);
      op += match + 4;
      assert(op <= data.length - 5, `${name}: match ends at ${op}`);
    }
    assertEquals(op, data.length, name);
  }
});

Deno.test("compressLz4BlockWasm() writes exactly the bytes of compressLz4Block()", () => {
  assert(lz4WasmAvailable(), "WebAssembly kernel");
  const inputs = shapes();
  inputs.push(["over the WebAssembly limit", text(WASM_MAX + 1000, 12)]);
  // Twice, so the second round meets a table full of older positions.
  for (const round of [1, 2]) {
    for (const [name, data] of inputs) {
      for (const cap of [lz4BlockBound(data.length), data.length * 0.5 | 0]) {
        const a = new Uint8Array(cap);
        const b = new Uint8Array(cap);
        const la = compressLz4Block(data, a);
        const lb = compressLz4BlockWasm(data, b);
        assertEquals(lb, la, `${round} ${name} cap ${cap}`);
        if (la > 0) {
          assertEquals(b.subarray(0, lb), a.subarray(0, la), name);
        }
      }
    }
  }
});

Deno.test("decodeLz4BlockWasm() agrees with decodeLz4Block() on valid, mutated and random blocks", () => {
  assert(lz4WasmAvailable(), "WebAssembly kernel");
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  const cases: [Uint8Array, number][] = [];
  for (const [, data] of shapes()) {
    if (data.length === 0) continue;
    const block = compress(data);
    cases.push([block, data.length]);
    cases.push([block, data.length + 1 + (rand() % 9)]); // too short
    cases.push([block, Math.max(1, data.length - 1 - (rand() % 9))]); // overflow
    for (let k = 0; k < 8; k++) {
      const bad = block.slice();
      for (let m = 0; m < 1 + (rand() % 3); m++) {
        bad[rand() % bad.length] = rand() & 0xff;
      }
      cases.push([bad, data.length]);
      cases.push([bad.subarray(0, rand() % bad.length), data.length]);
    }
  }
  for (let k = 0; k < 300; k++) {
    cases.push([noise(1 + (rand() % 200), rand()), 1 + (rand() % 2000)]);
  }
  let decoded = 0;
  for (const [i, [block, raw]] of cases.entries()) {
    const a = new Uint8Array(raw);
    const b = new Uint8Array(raw);
    const problem = decodeLz4Block(block, a);
    assertEquals(decodeLz4BlockWasm(block, b), problem, `case ${i}`);
    if (problem === undefined) {
      decoded++;
      assertEquals(b, a, `case ${i}`);
    }
  }
  assert(decoded > shapes().length, `${decoded} decoded`);
});

// Interop with the reference implementation (`lz4` CLI, Debian package
// lz4) through the legacy frame: magic 0x184C2102, then blocks of at most
// 8 MiB each behind a 4-byte little-endian compressed size.
const LEGACY_MAGIC = [0x02, 0x21, 0x4c, 0x18];

async function hasLz4(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("lz4", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
const lz4Missing = !(await hasLz4());

async function lz4Cli(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("lz4", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const [output] = await Promise.all([
    child.output(),
    writer.write(input).then(() => writer.close()),
  ]);
  assert(
    output.success,
    `lz4 ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`,
  );
  return output.stdout;
}

Deno.test({
  name:
    "compressLz4Block() output decodes with the reference lz4 (legacy frame)",
  ignore: lz4Missing,
  async fn() {
    for (const [name, data] of shapes()) {
      if (data.length === 0) continue;
      const block = compress(data);
      const frame = new Uint8Array(8 + block.length);
      frame.set(LEGACY_MAGIC);
      new DataView(frame.buffer).setUint32(4, block.length, true);
      frame.set(block, 8);
      const decoded = await lz4Cli(["-d", "-c"], frame);
      assertEquals(decoded, data, name);
    }
  },
});

Deno.test({
  name:
    "decodeLz4Block() and decodeLz4BlockWasm() decode blocks of the reference lz4 (fast and -9)",
  ignore: lz4Missing,
  async fn() {
    for (const level of ["-1", "-9"]) {
      for (const [name, data] of shapes()) {
        if (data.length === 0) continue;
        const frame = await lz4Cli(["-l", level, "-c"], data);
        assertEquals([...frame.subarray(0, 4)], LEGACY_MAGIC);
        const size = new DataView(frame.buffer, frame.byteOffset)
          .getUint32(4, true);
        assertEquals(frame.length, 8 + size, `${name}: one block`);
        assertEquals(
          decode(frame.subarray(8), data.length),
          data,
          `${level} ${name}`,
        );
        const out = new Uint8Array(data.length);
        assertEquals(decodeLz4BlockWasm(frame.subarray(8), out), undefined);
        assertEquals(out, data, `WebAssembly ${level} ${name}`);
      }
    }
  },
});
