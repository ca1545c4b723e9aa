/**
 * Crypto benchmark: transport seal/open throughput on full 64 KiB frames and
 * complete handshakes per second (both ends in this process).
 *
 *     deno run -A scripts/bench_crypto.ts
 */
import {
  type HandshakeIO,
  MAX_PLAINTEXT,
  secureHandshake,
  TransportCipher,
} from "../src/crypto/mod.ts";
import { Identity } from "../src/identity/mod.ts";
import type { Row } from "./bench_table.ts";

export type { Row };

const FRAME_PLAINTEXT = MAX_PLAINTEXT; // 65519 bytes: a 65535-byte Noise message
const RUN_MS = 1500;
const WARMUP_MS = 200;

/** Runs `step` repeatedly for about `ms` milliseconds; returns operations per second. */
function rate(step: () => void, ms: number): number {
  const warmupEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmupEnd) step();
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) step();
    count += 16;
    now = performance.now();
  }
  return count / ((now - start) / 1000);
}

/** Opens frames sealed ahead of time in batches; returns opens per second. */
function batchedRate(
  key: Uint8Array,
  plaintext: Uint8Array,
  ms: number,
): number {
  const sender = new TransportCipher(key);
  const receiver = new TransportCipher(key);
  let count = 0;
  let elapsed = 0;
  let warm = false;
  while (elapsed < ms) {
    const batch = Array.from({ length: 64 }, () => sender.seal(plaintext));
    const start = performance.now();
    for (const frame of batch) receiver.open(frame);
    if (warm) {
      elapsed += performance.now() - start;
      count += batch.length;
    }
    warm = true;
  }
  return count / (elapsed / 1000);
}

async function asyncRate(
  step: () => Promise<void>,
  ms: number,
): Promise<number> {
  for (let i = 0; i < 5; i++) await step();
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await step();
    count++;
    now = performance.now();
  }
  return count / ((now - start) / 1000);
}

function mbPerSecond(opsPerSecond: number, bytes: number): string {
  return `${(opsPerSecond * bytes / 1e6).toFixed(0)} MB/s`;
}

/** An in-memory byte pipe pair, enough for a handshake. */
function memoryPipe(): [HandshakeIO, HandshakeIO] {
  const queues: [Uint8Array[], Uint8Array[]] = [[], []];
  const waiters: [(() => void) | undefined, (() => void) | undefined] = [
    undefined,
    undefined,
  ];
  const end = (out: 0 | 1): HandshakeIO => {
    const inn = out === 0 ? 1 : 0;
    return {
      write(bytes) {
        queues[out].push(bytes.slice());
        waiters[out]?.();
        waiters[out] = undefined;
        return Promise.resolve();
      },
      async readExact(n) {
        const queue = queues[inn];
        const buffered = () => queue.reduce((sum, c) => sum + c.length, 0);
        while (buffered() < n) {
          await new Promise<void>((resolve) => (waiters[inn] = resolve));
        }
        const result = new Uint8Array(n);
        let offset = 0;
        while (offset < n) {
          const chunk = queue[0]!;
          const take = Math.min(chunk.length, n - offset);
          result.set(chunk.subarray(0, take), offset);
          offset += take;
          if (take === chunk.length) queue.shift();
          else queue[0] = chunk.subarray(take);
        }
        return result;
      },
    };
  };
  return [end(0), end(1)];
}

/** Measures the crypto hot paths; each row is a name and a formatted value. */
export async function benchCrypto(): Promise<Row[]> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const plaintext = crypto.getRandomValues(new Uint8Array(FRAME_PLAINTEXT));

  const sealer = new TransportCipher(key);
  const sealRate = rate(() => void sealer.seal(plaintext), RUN_MS);
  const frameBuffer = new Uint8Array(2 + 65535);
  const intoRate = rate(
    () => void sealer.sealInto(plaintext, frameBuffer, 2),
    RUN_MS,
  );

  // Open pre-sealed batches; only the opening is timed.
  const openRate = batchedRate(key, plaintext, RUN_MS);

  const a = new TransportCipher(key);
  const b = new TransportCipher(key);
  const roundTripRate = rate(() => void b.open(a.seal(plaintext)), RUN_MS);

  const alice = Identity.generate();
  const bob = Identity.generate();
  const handshakeRate = await asyncRate(async () => {
    const [x, y] = memoryPipe();
    await Promise.all([
      secureHandshake(x, {
        role: "initiator",
        identity: alice,
        expectedPeerId: bob.publicKey,
      }),
      secureHandshake(y, { role: "responder", identity: bob }),
    ]);
  }, RUN_MS);

  return [
    {
      name: "seal 64 KiB frames",
      value: mbPerSecond(sealRate, FRAME_PLAINTEXT),
    },
    {
      name: "sealInto 64 KiB frames (caller's buffer)",
      value: mbPerSecond(intoRate, FRAME_PLAINTEXT),
    },
    {
      name: "open 64 KiB frames",
      value: mbPerSecond(openRate, FRAME_PLAINTEXT),
    },
    {
      name: "seal+open 64 KiB frames (one core)",
      value: mbPerSecond(roundTripRate, FRAME_PLAINTEXT),
    },
    {
      name: "handshakes (both ends, one core)",
      value: `${handshakeRate.toFixed(0)} /s`,
    },
  ];
}

if (import.meta.main) {
  for (const row of await benchCrypto()) {
    console.log(`${row.name.padEnd(40)} ${row.value}`);
  }
}
