/**
 * Network throughput benchmark: one SecureChannel moving 64 KiB application
 * messages over loopback TCP between two processes (this script re-runs
 * itself as the receiver). Also reports, first, the single-core AEAD
 * ceilings that bound it and the CPU each side of a channel costs without a
 * socket (`--no-ceilings` skips these).
 *
 *   deno run -A scripts/bench_net.ts [--seconds 2] [--no-ceilings]
 *
 * MB are 10^6 bytes. The "MB per CPU-second" rows depend much less on what
 * else the machine runs than the MB/s rows: with a core to itself, each side
 * would reach about that rate, and the pair the lower of the two. BENCH_NET_CHILD_FLAGS adds `deno run`
 * flags to the receiver (e.g. `--cpu-prof`).
 */
import process from "node:process";
import { Identity } from "../src/identity/identity.ts";
import { TransportCipher } from "../src/crypto/transport_cipher.ts";
import { dial } from "../src/net/dialer.ts";
import { listen } from "../src/net/listener.ts";
import { type ChannelConn, SecureChannel } from "../src/net/secure_channel.ts";

/** One line of benchmark output. */
export interface Row {
  name: string;
  value: string;
}

const MESSAGE_SIZE = 64 * 1024;
const IN_FLIGHT = 8;

/** Runs the benchmark; `seconds` is the sending time. */
export async function benchNet(
  seconds = 2,
  ceilings = true,
): Promise<Row[]> {
  const rows: Row[] = [];
  if (ceilings) {
    rows.push(...aeadCeilings(Math.min(1, seconds / 2)));
    rows.push(...await inProcessCosts());
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      ...(Deno.env.get("BENCH_NET_CHILD_FLAGS")?.split(" ").filter(Boolean) ??
        []),
      new URL(import.meta.url).pathname,
      "--receiver",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(lineSplitter());
  const lineReader = lines.getReader();
  try {
    const portLine = await lineReader.read();
    const port = Number(portLine.value?.match(/^PORT (\d+)$/)?.[1]);
    if (!Number.isInteger(port)) {
      throw new Error(`Receiver did not report a port: ${portLine.value}`);
    }
    const channel = await dial({
      hostname: "127.0.0.1",
      port,
      identity: Identity.generate(),
    });
    const message = new Uint8Array(MESSAGE_SIZE);
    crypto.getRandomValues(message.subarray(0, 65536));
    const pending: Promise<void>[] = [];
    let sent = 0;
    const cpuStart = cpuMicros();
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (performance.now() < deadline) {
      for (let i = 0; i < 16; i++) {
        pending.push(channel.send(message));
        sent++;
        if (pending.length >= IN_FLIGHT) await pending.shift();
      }
    }
    await Promise.all(pending);
    const sendMs = performance.now() - start;
    const sendCpuMs = (cpuMicros() - cpuStart) / 1000;
    await channel.close("benchmark done");
    const result = await lineReader.read();
    const m = result.value?.match(/^RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)$/);
    if (!m) throw new Error(`Receiver did not report: ${result.value}`);
    const [bytes, messages, ms, recvCpuMs] = [1, 2, 3, 4].map((i) =>
      Number(m[i])
    ) as [number, number, number, number];
    if (messages !== sent) {
      throw new Error(`Sent ${sent} messages, receiver got ${messages}`);
    }
    rows.push({
      name: "SecureChannel 64 KiB messages, loopback, 2 processes (receiver)",
      value: `${
        (bytes / 1e6 / (ms / 1000)).toFixed(0)
      } MB/s (${messages} messages in ${(ms / 1000).toFixed(2)} s)`,
    });
    const sentMb = sent * MESSAGE_SIZE / 1e6;
    rows.push({
      name: "SecureChannel 64 KiB messages, sender side",
      value: `${(sentMb / (sendMs / 1000)).toFixed(0)} MB/s`,
    });
    // Per CPU-second figures do not depend on what else the machine runs:
    // with one idle core per process, throughput is the lower of the two.
    rows.push({
      name: "  sender: CPU busy / MB per CPU-second",
      value: `${(100 * sendCpuMs / sendMs).toFixed(0)}% / ${
        (sentMb / (sendCpuMs / 1000)).toFixed(0)
      }`,
    });
    rows.push({
      name: "  receiver: CPU busy / MB per CPU-second",
      value: `${(100 * recvCpuMs / ms).toFixed(0)}% / ${
        (bytes / 1e6 / (recvCpuMs / 1000)).toFixed(0)
      }`,
    });
    rows.push({
      name: "  machine load average (1 min) during the run",
      value: Deno.loadavg()[0]!.toFixed(2),
    });
  } finally {
    lineReader.releaseLock();
    await child.status;
  }
  return rows;
}

/** Single-core seal/open rate on full 65519-byte frames. */
function aeadCeilings(seconds: number): Row[] {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const plain = new Uint8Array(65519);
  const round = 128; // frames per round: bounded memory
  let sealMs = 0;
  let openMs = 0;
  let frames = 0;
  while (sealMs + openMs < seconds * 1000) {
    const sealer = new TransportCipher(key);
    const opener = new TransportCipher(key);
    const sealed: Uint8Array[] = [];
    let t0 = performance.now();
    for (let i = 0; i < round; i++) sealed.push(sealer.seal(plain));
    sealMs += performance.now() - t0;
    t0 = performance.now();
    for (const c of sealed) opener.open(c);
    openMs += performance.now() - t0;
    frames += round;
  }
  const mb = frames * plain.length / 1e6;
  return [
    {
      name: "TransportCipher.seal 64 KiB frames (1 core)",
      value: `${(mb / (sealMs / 1000)).toFixed(0)} MB/s`,
    },
    {
      name: "TransportCipher.open 64 KiB frames (1 core)",
      value: `${(mb / (openMs / 1000)).toFixed(0)} MB/s`,
    },
  ];
}

/**
 * CPU per 64 KiB message of each side of a SecureChannel without a socket:
 * the sender writes to a sink, the receiver reads a prepared wire stream
 * from memory (a copy that stands in for the socket read). Short rounds,
 * the cheapest kept: on a busy machine this is the figure least disturbed
 * by other processes.
 */
async function inProcessCosts(): Promise<Row[]> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const session = () => ({
    peerId: new Uint8Array(32),
    sender: new TransportCipher(key),
    receiver: new TransportCipher(key),
  });
  const message = crypto.getRandomValues(new Uint8Array(MESSAGE_SIZE));
  const perRound = 64;
  const chunks: Uint8Array[] = [];
  const conn = (
    write: (p: Uint8Array) => void,
    read: (p: Uint8Array) => number | null = () => null,
  ): ChannelConn => ({
    read: (p) => Promise.resolve(read(p)),
    write: (p) => {
      write(p);
      return Promise.resolve(p.length);
    },
    close() {},
  });
  const sendAll = async (channel: SecureChannel) => {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < perRound; i++) {
      pending.push(channel.send(message));
      if (pending.length >= IN_FLIGHT) await pending.shift();
    }
    await Promise.all(pending);
  };
  await sendAll(
    new SecureChannel(conn((p) => chunks.push(p.slice())), session()),
  );
  const wire = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (wire.set(c, at), at + c.length), 0);
  let sendBest = Infinity;
  let receiveBest = Infinity;
  const sender = new SecureChannel(conn(() => {}), session());
  for (let round = 0; round < 30; round++) {
    let start = cpuMicros();
    await sendAll(sender);
    sendBest = Math.min(sendBest, (cpuMicros() - start) / perRound);
    let at = 0;
    const receiver = new SecureChannel(
      conn(() => {}, (p) => {
        if (at === wire.length) return null;
        const n = Math.min(p.length, wire.length - at, 256 * 1024);
        p.set(wire.subarray(at, at + n));
        at += n;
        return n;
      }),
      session(),
    );
    start = cpuMicros();
    for (let i = 0; i < perRound; i++) await receiver.receive();
    receiveBest = Math.min(receiveBest, (cpuMicros() - start) / perRound);
  }
  const rate = (us: number) =>
    `${us.toFixed(0)} µs CPU per message = ${
      (MESSAGE_SIZE / us).toFixed(0)
    } MB per CPU-second`;
  return [
    {
      name: "SecureChannel 64 KiB messages, no socket (sender, best round)",
      value: rate(sendBest),
    },
    {
      name: "SecureChannel 64 KiB messages, no socket (receiver, best round)",
      value: rate(receiveBest),
    },
  ];
}

async function receiver(): Promise<void> {
  const identity = Identity.generate();
  const done = Promise.withResolvers<void>();
  const listener = listen({
    hostname: "127.0.0.1",
    port: 0,
    identity,
    onSession: (channel) => {
      (async () => {
        let bytes = 0;
        let messages = 0;
        let start = 0;
        let cpuStart = 0;
        for (;;) {
          const message = await channel.receive();
          if (message === null) break;
          if (messages === 0) {
            start = performance.now();
            cpuStart = cpuMicros();
          }
          messages++;
          bytes += message.length;
        }
        // The first message only starts the clock.
        const ms = performance.now() - start;
        const cpuMs = (cpuMicros() - cpuStart) / 1000;
        console.log(
          `RESULT ${bytes - MESSAGE_SIZE} ${messages} ${ms} ${cpuMs}`,
        );
      })().finally(done.resolve);
    },
  });
  console.log(`PORT ${listener.addr.port}`);
  await done.promise;
  await listener.close();
}

/** User plus system CPU time of this process, in microseconds. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function lineSplitter(): TransformStream<string, string> {
  let buffered = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (buffered) controller.enqueue(buffered);
    },
  });
}

if (import.meta.main) {
  if (Deno.args.includes("--receiver")) {
    await receiver();
  } else {
    const i = Deno.args.indexOf("--seconds");
    const seconds = i >= 0 ? Number(Deno.args[i + 1]) : 2;
    const ceilings = !Deno.args.includes("--no-ceilings");
    for (const row of await benchNet(seconds, ceilings)) {
      console.log(`${row.name.padEnd(68)} ${row.value}`);
    }
  }
}
