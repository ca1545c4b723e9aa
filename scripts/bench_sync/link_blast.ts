/**
 * The link's own throughput, iperf3-style: one TCP connection carries a
 * fixed number of bytes from one side to the other as fast as the sender
 * can write; the receiver answers with the count once the sender has shut
 * its half, so the time covers every byte arriving. Run as a script on each
 * side (through the side's wrapper, e.g. `ip netns exec NS`):
 *
 *   link_blast.ts serve IP PORT       accepts one connection, then exits
 *   link_blast.ts send IP PORT BYTES  prints {"bytes":N,"seconds":S}
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import { waitListening } from "./netlab.ts";
import { type Endpoint, freePorts } from "./sync_tool.ts";

const CHUNK = 1024 * 1024;
const SCRIPT = new URL(import.meta.url).pathname;

/** What a blast reports, or a malformed report. */
export class BlastReportError extends Error {
  override name = "BlastReportError";
}

/** One blast's bytes and seconds, from the sender's output. */
export interface BlastResult {
  bytes: number;
  seconds: number;
}

/** Parses the sender's one-line report; throws {@linkcode BlastReportError}. */
export function parseBlastReport(text: string): BlastResult {
  let value: unknown;
  try {
    value = JSON.parse(text.trim().split("\n").at(-1) ?? "");
  } catch {
    throw new BlastReportError(`Cannot read the blast report "${text}"`);
  }
  const r = value as Partial<BlastResult> | null;
  if (
    typeof r?.bytes !== "number" || typeof r.seconds !== "number" ||
    !(r.bytes > 0) || !(r.seconds > 0)
  ) {
    throw new BlastReportError(`Cannot use the blast report "${text}"`);
  }
  return { bytes: r.bytes, seconds: r.seconds };
}

/** Median of at least one number. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of nothing");
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

async function serve(ip: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname: ip, port });
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(CHUNK);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  const reply = new Uint8Array(8);
  new DataView(reply.buffer).setBigUint64(0, BigInt(total));
  await conn.write(reply);
  conn.close();
}

async function send(ip: string, port: number, bytes: number): Promise<void> {
  const conn = await Deno.connect({ hostname: ip, port });
  const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const block = new Uint8Array(CHUNK);
  for (let off = 0; off < CHUNK; off += chunk.length) block.set(chunk, off);
  const t0 = performance.now();
  for (let sent = 0; sent < bytes;) {
    const part = block.subarray(0, Math.min(CHUNK, bytes - sent));
    for (let off = 0; off < part.length;) {
      off += await conn.write(part.subarray(off));
    }
    sent += part.length;
  }
  await conn.closeWrite();
  const reply = new Uint8Array(8);
  for (let got = 0; got < 8;) {
    const n = await conn.read(reply.subarray(got));
    if (n === null) throw new Error("The receiver closed without a count");
    got += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  conn.close();
  const received = Number(new DataView(reply.buffer).getBigUint64(0));
  if (received !== bytes) {
    throw new Error(`Sent ${bytes} bytes, the receiver counted ${received}`);
  }
  console.log(JSON.stringify({ bytes, seconds }));
}

/**
 * Sends `bytes` from `from` to `to` `runs` times; returns the median
 * throughput in bytes per second. `work` is a folder for the logs.
 */
export async function measureLink(
  from: Endpoint,
  to: Endpoint,
  bytes: number,
  runs: number,
  work: string,
): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [port] = freePorts(1) as [number];
    const server = ManagedProcess.spawn(
      "blast receiver",
      Deno.execPath(),
      ["run", "--allow-net", SCRIPT, "serve", to.ip, String(port)],
      { log: `${work}/blast-serve-${i}`, wrapper: to.wrapper },
    );
    try {
      await waitListening(to.wrapper, port, 20_000);
      const cmd = [
        ...from.wrapper,
        Deno.execPath(),
        "run",
        "--allow-net",
        SCRIPT,
        "send",
        to.ip,
        String(port),
        String(bytes),
      ];
      const out = await new Deno.Command(cmd[0]!, {
        args: cmd.slice(1),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      if (!out.success) {
        throw new BlastReportError(
          `The blast sender failed: ${
            new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
          }`,
        );
      }
      const r = parseBlastReport(text);
      rates.push(r.bytes / r.seconds);
    } finally {
      await server.stop();
    }
  }
  return median(rates);
}

if (import.meta.main) {
  const [mode, ip, port, bytes] = Deno.args;
  if (mode === "serve" && ip && port) {
    await serve(ip, Number(port));
  } else if (mode === "send" && ip && port && bytes) {
    await send(ip, Number(port), Number(bytes));
  } else {
    console.error("usage: link_blast.ts serve IP PORT | send IP PORT BYTES");
    Deno.exit(2);
  }
}
