/**
 * Floors: what the work that DESIGN.md and the issues require costs on this
 * machine with nothing of dsync around it, so that dsync's figures and the
 * targets can be read against them.
 *
 * - Transport: two processes, one TCP connection on loopback, 65,519-byte
 *   plaintexts sealed with `node:crypto` ChaCha20-Poly1305 (the AEAD the
 *   transport issue prescribes) into 2-byte-length frames, opened on the
 *   other side, both in place through dsync's wrapper (`crypto/aead.ts`,
 *   the cheapest way it has to call `node:crypto`). No Noise, no message layer, no protocol: the most one
 *   connection can move here.
 * - 1 GiB: the CPU every byte must cost, summed over both sides: the
 *   source's index pass (FastCDC + BLAKE3, dsync's fastest code for it),
 *   the receiver's check (BLAKE3 once), the transport floor above, two
 *   reads from the page cache (index, answer) and one write; divided by
 *   the cores. This is the kind of work Syncthing does too (hash at scan,
 *   encrypt, hash once on the receiver, read, write): the responder trusts
 *   the file's stat instead of hashing what it serves (`chunk_answer.ts`),
 *   so no re-hash is counted. The kernel's write-back and everything that
 *   is not per byte come on top.
 * - Text: the same, except that LZ4 (dsync's compressor, on the sync
 *   benchmark's text in 64 KiB chunks) may shrink what the transport
 *   carries, at the price of compressing and decompressing; the floor is the
 *   cheaper of with and without.
 * - Disk: 512 MiB written in 1 MiB writes and fdatasync'd, as a receiver
 *   must before a file takes its name; scaled to 1 GiB it is a floor of the
 *   1 GiB benchmarks however fast the rest is.
 * - 20,000 × 4 KiB: the receiver's durable writes alone (create a `.part`,
 *   write, fdatasync, set the mtime, rename; 64 in flight as dsync does),
 *   with nothing received, hashed or recorded; the same for the large
 *   folder (100,000 × 1 KiB in 1,000 folders). This is the kind of work
 *   Syncthing does per file too (temp file, fsync, rename).
 *
 *   deno run -A scripts/bench_floor.ts [--seconds 2] [--scratch /tmp]
 *
 * MB are 10^6 bytes.
 * @module
 */
import {
  aeadOpenInto,
  aeadSealInto,
  importAeadKey,
} from "../src/crypto/aead.ts";
import process from "node:process";
import { parseArgs } from "node:util";
import { digestBytes } from "../src/index/file_digest.ts";
import { blake3, fromHex, toHex } from "../src/index/hash.ts";
import { MAX_CHUNK_SIZE } from "../src/protocol/limits.ts";
import {
  compressIfWorthwhile,
  decompressChunk,
} from "../src/compress/chunk_compression.ts";
import { Prng } from "./bench_sync/prng.ts";
import { fillSourceText, sourceLinePool } from "./bench_sync/source_text.ts";
import type { Row } from "./bench_table.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PLAINTEXT = 65519;
const TAG = 16;
const FRAME = 2 + PLAINTEXT + TAG;
const FRAMES_PER_WRITE = 16;
const NO_AD = new Uint8Array(0);
const SMALL_FILES = 20_000;
const SMALL_SIZE = 4096;
const SMALL_DIRS = 200;
/** The large-folder benchmark's shape: 100,000 × 1 KiB in 1,000 folders. */
const LARGE_FILES = 100_000;
const LARGE_SIZE = 1024;
const LARGE_DIRS = 1000;
const TARGET_LARGE_S = 25;
const FSYNCS_IN_FLIGHT = 64;

/** What the benchmark's targets ask, for the rows that compare. */
const TARGET_TRANSPORT_MBPS = 600;
const TARGET_BIG_S = 4;
const TARGET_TEXT_S = 3;
const TARGET_SMALL_S = 6;

/** Options of {@link benchFloor}. */
export interface FloorOptions {
  /** Sending time of the transport floor, in seconds. */
  seconds?: number;
  /** Folder the small files go under (default /tmp). */
  scratchDir?: string;
}

/** Runs the floors and returns one row per figure. */
export async function benchFloor(options: FloorOptions = {}): Promise<Row[]> {
  const cores = navigator.hardwareConcurrency;
  const pipe = await transportFloor(options.seconds ?? 2);
  const pipeMbps = pipe.bytes / 1e6 / (pipe.ms / 1000);
  const pipeCpuPerGiB = (pipe.senderCpuMs + pipe.receiverCpuMs) / 1000 *
    (GiB / pipe.bytes);
  const index = cpuSecondsPerGiB(digestBytes);
  const check = cpuSecondsPerGiB(blake3In64KiBChunks);
  const scratch = options.scratchDir ?? "/tmp";
  const disk = await diskCosts(scratch);
  const diskFloor = GiB / 1e6 / disk.durableMbps;
  // The source reads every byte twice (index, answer); the receiver checks
  // and writes it.
  const perGiB = index + check + pipeCpuPerGiB + 2 * disk.readCpuPerGiB +
    disk.writeCpuPerGiB;
  const bigFloor = perGiB / cores;
  const lz4 = lz4Costs();
  const textPerGiB = Math.min(
    perGiB,
    perGiB - pipeCpuPerGiB * (1 - lz4.ratio) + lz4.cpuPerGiB,
  );
  const textFloor = textPerGiB / cores;
  const small = await durableWrites(scratch);
  const large = await durableWrites(scratch, LARGE_FILES, {
    size: LARGE_SIZE,
    dirs: LARGE_DIRS,
  });
  const vs = (floor: number, target: number, unit: string) =>
    `${floor <= target ? "under" : "over"} the target of ${target} ${unit}`;
  const vsRate = (floor: number, target: number, unit: string) =>
    `${floor >= target ? "above" : "below"} the target of ${target} ${unit}`;
  return [
    {
      name: "transport: node:crypto AEAD + TCP, 64 KiB frames, 2 processes",
      value: `${pipeMbps.toFixed(0)} MB/s (sender ${
        (100 * pipe.senderCpuMs / pipe.ms).toFixed(0)
      }% CPU, receiver ${(100 * pipe.receiverCpuMs / pipe.ms).toFixed(0)}%; ${
        vsRate(pipeMbps, TARGET_TRANSPORT_MBPS, "MB/s")
      })`,
    },
    {
      name: "  transport CPU per GiB, both sides",
      value: `${pipeCpuPerGiB.toFixed(2)} CPU-s`,
    },
    {
      name: `  transport bound: all ${cores} cores doing only this`,
      value: `${(cores * GiB / 1e6 / pipeCpuPerGiB).toFixed(0)} MB/s`,
    },
    {
      name: "  index pass (FastCDC + BLAKE3) per GiB, 1 thread",
      value: `${index.toFixed(2)} CPU-s`,
    },
    {
      name: "  BLAKE3 per GiB (the receiver's check), 1 thread",
      value: `${check.toFixed(2)} CPU-s`,
    },
    {
      name: "  file reads (from the page cache) / writes per GiB",
      value: `${disk.readCpuPerGiB.toFixed(2)} / ${
        disk.writeCpuPerGiB.toFixed(2)
      } CPU-s`,
    },
    {
      name: `1 GiB floor: the CPU above on ${cores} cores`,
      value: `${bigFloor.toFixed(2)} s, ${perGiB.toFixed(2)} CPU-s (${
        vs(bigFloor, TARGET_BIG_S, "s")
      })`,
    },
    {
      name: "  LZ4 on text: compress + decompress per GiB / size on the wire",
      value: `${lz4.cpuPerGiB.toFixed(2)} CPU-s / ${
        (100 * lz4.ratio).toFixed(0)
      }%`,
    },
    {
      name: `1 GiB of text floor, with LZ4 if cheaper, on ${cores} cores`,
      value: `${textFloor.toFixed(2)} s, ${textPerGiB.toFixed(2)} CPU-s (${
        vs(textFloor, TARGET_TEXT_S, "s")
      })`,
    },
    {
      name: "disk: 512 MiB written and fdatasync'd",
      value: `${disk.durableMbps.toFixed(0)} MB/s = ${
        diskFloor.toFixed(2)
      } s per GiB (${vs(diskFloor, TARGET_BIG_S, "s")} for 1 GiB, ${
        vs(diskFloor, TARGET_TEXT_S, "s")
      } for text)`,
    },
    {
      name:
        `20,000 × 4 KiB durable writes alone (${FSYNCS_IN_FLIGHT} fsyncs in flight)`,
      value: `${small.seconds.toFixed(2)} s, ${
        small.cpuSeconds.toFixed(2)
      } CPU-s (${vs(small.seconds, TARGET_SMALL_S, "s")})`,
    },
    {
      name:
        `100,000 × 1 KiB / 1,000 folders durable writes alone (${FSYNCS_IN_FLIGHT} in flight)`,
      value: `${large.seconds.toFixed(2)} s, ${
        large.cpuSeconds.toFixed(2)
      } CPU-s (${vs(large.seconds, TARGET_LARGE_S, "s")})`,
    },
  ];
}

/** What one run of the bare transport measured. */
export interface PipeResult {
  /** Plaintext bytes the receiver opened in its timed window, tags checked. */
  bytes: number;
  /** Frames sent, and opened by the receiver. */
  frames: number;
  ms: number;
  senderCpuMs: number;
  receiverCpuMs: number;
}

/** The sender side of the transport floor; the receiver is a child process. */
export async function transportFloor(seconds: number): Promise<PipeResult> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--pipe-receiver",
      toHex(key),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = readLines(child.stdout);
  let conn: Deno.TcpConn | undefined;
  let reported = false;
  try {
    const port = Number((await lines.next()).value?.match(/^PORT (\d+)$/)?.[1]);
    if (!Number.isInteger(port)) throw new Error("Receiver reported no port");
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const aeadKey = importAeadKey(key);
    const plaintext = crypto.getRandomValues(new Uint8Array(PLAINTEXT));
    const out = new Uint8Array(FRAMES_PER_WRITE * FRAME);
    const nonce = new Uint8Array(12);
    const nonceView = new DataView(nonce.buffer);
    let counter = 0;
    const cpuStart = cpuMicros();
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (performance.now() < deadline) {
      for (let f = 0, at = 0; f < FRAMES_PER_WRITE; f++, at += FRAME) {
        nonceView.setUint32(4, counter++, true);
        out[at] = (PLAINTEXT + TAG) >>> 8;
        out[at + 1] = (PLAINTEXT + TAG) & 0xff;
        aeadSealInto(aeadKey, nonce, NO_AD, plaintext, out, at + 2);
      }
      for (let at = 0; at < out.length;) {
        at += await conn.write(out.subarray(at));
      }
    }
    const senderCpuMs = (cpuMicros() - cpuStart) / 1000;
    conn.close();
    conn = undefined;
    const m = (await lines.next()).value?.match(
      /^RESULT (\d+) ([\d.]+) ([\d.]+) (\d+) ([\w-]+)$/,
    );
    if (!m) throw new Error("Receiver reported no result");
    reported = true;
    if (m[5] !== "ok") throw new Error(`Receiver failed: ${m[5]}`);
    if (Number(m[4]) !== counter) {
      throw new Error(`Sent ${counter} frames, the receiver opened ${m[4]}`);
    }
    return {
      frames: counter,
      bytes: Number(m[1]),
      ms: Number(m[2]),
      senderCpuMs,
      receiverCpuMs: Number(m[3]),
    };
  } finally {
    conn?.close();
    // A receiver that did not report may still wait for a connection.
    if (!reported) {
      try {
        child.kill();
      } catch {
        // Already gone.
      }
    }
    await lines.return(undefined);
    await child.status;
  }
}

/** Child process: opens every frame; reports bytes, time and CPU after EOF. */
async function pipeReceiver(key: Uint8Array): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`PORT ${listener.addr.port}`);
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(4 * MiB);
  const aeadKey = importAeadKey(key);
  const opened = new Uint8Array(PLAINTEXT);
  const nonce = new Uint8Array(12);
  const nonceView = new DataView(nonce.buffer);
  let counter = 0;
  let have = 0;
  let bytes = 0;
  // The clock starts when the first bytes arrive: those are not counted.
  let untimed: number | undefined;
  let start = 0;
  let cpuStart = 0;
  let verdict = "ok";
  for (;;) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) break;
    if (start === 0) {
      start = performance.now();
      cpuStart = cpuMicros();
    }
    have += n;
    let at = 0;
    while (have - at >= FRAME) {
      nonceView.setUint32(4, counter++, true);
      try {
        bytes += aeadOpenInto(
          aeadKey,
          nonce,
          NO_AD,
          buf.subarray(at + 2, at + FRAME),
          opened,
          0,
        );
      } catch {
        verdict = "authentication-failed";
      }
      at += FRAME;
    }
    untimed ??= bytes;
    buf.copyWithin(0, at, have);
    have -= at;
  }
  if (have !== 0) verdict = "truncated";
  const ms = performance.now() - start;
  console.log(
    `RESULT ${bytes - (untimed ?? 0)} ${ms} ${
      (cpuMicros() - cpuStart) / 1000
    } ${counter} ${verdict}`,
  );
}

/** CPU-seconds per GiB of `fn` over 256 MiB of random bytes, best of 3. */
function cpuSecondsPerGiB(fn: (data: Uint8Array) => unknown): number {
  const data = new Uint8Array(256 * MiB);
  for (let at = 0; at < data.length; at += 65536) {
    crypto.getRandomValues(data.subarray(at, at + 65536));
  }
  fn(data.subarray(0, 16 * MiB)); // warm up
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = cpuMicros();
    fn(data);
    best = Math.min(best, (cpuMicros() - start) / 1e6);
  }
  return best * (GiB / data.length);
}

/** The chunk checks: one-shot BLAKE3 of each 64 KiB chunk, as dsync checks them. */
function blake3In64KiBChunks(data: Uint8Array): number {
  let first = 0;
  for (let at = 0; at < data.length; at += 64 * 1024) {
    first ^= blake3(data.subarray(at, at + 64 * 1024))[0]!;
  }
  return first;
}

/** dsync's LZ4 on 64 MiB of the sync benchmark's text, best of 3. */
function lz4Costs(): { cpuPerGiB: number; ratio: number } {
  const text = new Uint8Array(64 * MiB);
  fillSourceText(text, sourceLinePool(1), new Prng(2));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < text.length; at += 64 * 1024) {
    chunks.push(text.subarray(at, at + 64 * 1024));
  }
  let best = Infinity;
  let wire = 0;
  for (let round = 0; round < 3; round++) {
    const start = cpuMicros();
    wire = 0;
    for (const chunk of chunks) {
      const encoded = compressIfWorthwhile(chunk);
      wire += encoded.bytes.length;
      if (encoded.compression === "lz4") {
        decompressChunk(encoded.bytes, chunk.length, MAX_CHUNK_SIZE);
      }
    }
    best = Math.min(best, (cpuMicros() - start) / 1e6);
  }
  return { cpuPerGiB: best * (GiB / text.length), ratio: wire / text.length };
}

interface DiskResult {
  /** MB/s of writing then fdatasync'ing. */
  durableMbps: number;
  /** CPU-s per GiB of the `write` calls (fdatasync's wait excluded). */
  writeCpuPerGiB: number;
  /** CPU-s per GiB of reading the file back from the page cache. */
  readCpuPerGiB: number;
}

/** Writes 512 MiB in 1 MiB writes, fdatasyncs, reads it back; removes it. */
async function diskCosts(scratch: string): Promise<DiskResult> {
  const path = await Deno.makeTempFile({ dir: scratch, prefix: "floor-" });
  try {
    const block = crypto.getRandomValues(new Uint8Array(65536));
    const data = new Uint8Array(MiB);
    for (let at = 0; at < MiB; at += block.length) data.set(block, at);
    const total = 512 * MiB;
    const perGiB = GiB / total / 1e6;
    let writeCpu: number;
    let durableMbps: number;
    {
      using file = await Deno.open(path, { write: true, truncate: true });
      const start = performance.now();
      const cpuStart = cpuMicros();
      for (let written = 0; written < total; written += MiB) {
        data[0] = (written / MiB) & 0xff; // no two MiB alike
        for (let at = 0; at < MiB;) at += await file.write(data.subarray(at));
      }
      writeCpu = cpuMicros() - cpuStart;
      await file.syncData();
      durableMbps = total / 1e6 / ((performance.now() - start) / 1000);
    }
    let readCpu = Infinity;
    for (let round = 0; round < 2; round++) {
      using file = await Deno.open(path);
      const cpuStart = cpuMicros();
      while (await file.read(data) !== null);
      readCpu = Math.min(readCpu, cpuMicros() - cpuStart);
    }
    return {
      durableMbps,
      writeCpuPerGiB: writeCpu * perGiB,
      readCpuPerGiB: readCpu * perGiB,
    };
  } finally {
    await Deno.remove(path);
  }
}

/**
 * Writes the small files as a receiver must (and as Syncthing does: a temp
 * file, written, fsynced, renamed), then removes them.
 */
export async function durableWrites(
  scratch: string,
  files = SMALL_FILES,
  shape: { size: number; dirs: number } = {
    size: SMALL_SIZE,
    dirs: SMALL_DIRS,
  },
): Promise<{ seconds: number; cpuSeconds: number }> {
  const root = await Deno.makeTempDir({ dir: scratch, prefix: "floor-" });
  try {
    const data = crypto.getRandomValues(new Uint8Array(shape.size));
    const cpuStart = cpuMicros();
    const start = performance.now();
    for (let d = 0; d < shape.dirs; d++) Deno.mkdirSync(`${root}/d${d}`);
    let next = 0;
    const writeOne = async (i: number) => {
      const target = `${root}/d${i % shape.dirs}/f${i}`;
      using file = Deno.openSync(`${target}.part`, {
        write: true,
        createNew: true,
      });
      file.writeSync(data);
      await file.syncData();
      file.utimeSync(1_700_000_000, 1_700_000_000);
      Deno.renameSync(`${target}.part`, target);
    };
    await Promise.all(
      Array.from({ length: FSYNCS_IN_FLIGHT }, async () => {
        while (next < files) await writeOne(next++);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const cpuSeconds = (cpuMicros() - cpuStart) / 1e6;
    let placed = 0;
    for (const dir of Deno.readDirSync(root)) {
      for (const entry of Deno.readDirSync(`${root}/${dir.name}`)) {
        if (entry.isFile && !entry.name.endsWith(".part")) placed++;
      }
    }
    if (placed !== files) {
      throw new Error(`Wrote ${files} files, found ${placed} in place`);
    }
    return { seconds, cpuSeconds };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** User plus system CPU time of this process, in microseconds. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    yield* lines;
  }
  if (buffered) yield buffered;
}

if (import.meta.main) {
  if (Deno.args[0] === "--pipe-receiver") {
    await pipeReceiver(fromHex(Deno.args[1] ?? ""));
  } else {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        seconds: { type: "string", default: "2" },
        scratch: { type: "string", default: "/tmp" },
      },
    });
    const seconds = Number(values.seconds);
    if (!(seconds > 0)) {
      console.error(`--seconds must be a positive number`);
      Deno.exit(2);
    }
    const rows = await benchFloor({ seconds, scratchDir: values.scratch });
    for (const row of rows) console.log(`${row.name.padEnd(72)} ${row.value}`);
  }
}
