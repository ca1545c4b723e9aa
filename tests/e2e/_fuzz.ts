/**
 * A fuzzing harness against a real instance: a hostile peer (a real group
 * member, as in `hostile_peer_test.ts`) connects to a victim dsync again and
 * again and sends seeded random, mutated and adversarial sequences of every
 * message type (hello, index batches with hostile records, acks, chunk
 * requests and responses, in-sync beacons, malformed group rekeys, record
 * diffs against bases the victim has or not, record requests, raw bytes). After each connection: the victim is alive, nothing appeared
 * outside its folder, and its resident size stays under a bound. At the end
 * an honest peer's edit reaches the victim and the victim's reaches it.
 *
 *   deno task fuzz [--seed N] [--duration S]
 *
 * `tests/e2e/fuzz_test.ts` runs it for a few seconds in every test run.
 * @module
 */
import { blake3, fileHashOfChunks } from "../../src/index/hash.ts";
import { encodeMessage } from "../../src/protocol/mod.ts";
import { prng } from "../protocol/_fixtures.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
} from "./_dsync.ts";
import { diffSnapshots, snapshot } from "./_folders.ts";
import {
  emptyFileRecord,
  fileRecordOf,
  HostilePeer,
  pidOfDsync,
  rawMessage,
  residentBytes,
  tombstoneRecord,
} from "./_hostile_peer.ts";
import { waitFor } from "../_wait.ts";

/** What one fuzz run found. */
export interface FuzzReport {
  readonly seed: number;
  readonly connections: number;
  readonly messages: number;
  /** Messages sent per type byte (1 … 10, and 0 for raw bytes). */
  readonly byType: Record<string, number>;
  readonly peakRssMiB: number;
}

/** Resident size the victim must stay under. */
export const FUZZ_RSS_LIMIT_MIB = 600;

const PATHS = [
  "a.txt",
  "dir/b.txt",
  "../escape.txt",
  "a/../../x",
  "/abs",
  ".dsync/index.db",
  ".DSYNC/x",
  ".dsyncignore",
  "x.part",
  "\u202egnp.exe",
  "Twin.txt",
  "twin.txt",
  "CON",
  "nul\u0000byte",
  "back\\slash",
  "cafe\u0301",
  "x".repeat(300),
  "deep/".repeat(40) + "f",
  "",
];

/** Runs the harness for `durationMs`; throws (naming the seed) on a broken invariant. */
export async function runFuzz(
  seed: number,
  durationMs: number,
  log: (line: string) => void = console.log,
): Promise<FuzzReport> {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    return out;
  };
  const big = () =>
    pick([0n, 1n, 5n, 2n ** 52n, 2n ** 52n + 1n, 2n ** 63n - 1n]);
  const root = await Deno.makeTempDir({ prefix: "dsync-fuzz-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  const byType: Record<string, number> = {};
  let connections = 0;
  let messages = 0;
  let peakRss = 0;
  const fail = (what: string): never => {
    throw new Error(`Fuzz seed ${seed}: ${what}`);
  };
  try {
    for (const d of ["v", "h", "home", "outside"]) {
      await Deno.mkdir(`${root}/${d}`);
    }
    await Deno.writeTextFile(`${root}/outside/secret.txt`, "outside\n");
    await Deno.writeTextFile(`${root}/h/start.txt`, "start\n");
    const outside = await snapshot(`${root}/outside`);
    const [portV, portH] = [freePort(), freePort()];
    const start = (name: string, port: number, other: number) =>
      new DsyncProcess(loopbackNodeArgs(root, name, port, other, []), { env });
    const victim = start("v", portV, portH);
    nodes.push(victim, start("h", portH, portV));
    await waitFor(
      async () =>
        await Deno.readTextFile(`${root}/v/start.txt`).catch(() => "") ===
          "start\n",
      "the honest peers to sync",
      30_000,
    );
    const pid = pidOfDsync(`${root}/v`);
    const rootListing = [...Deno.readDirSync(root)].map((e) => e.name).sort();
    const deadline = Date.now() + durationMs;
    while (Date.now() < deadline) {
      connections++;
      let peer: HostilePeer;
      try {
        peer = await HostilePeer.start(portV);
      } catch (err) {
        fail(`cannot connect to the victim: ${err}`);
      }
      const p = peer!;
      const count = 1 + int(40);
      try {
        for (let i = 0; i < count && p.open; i++) {
          const kind = int(13);
          let message: Uint8Array;
          switch (kind) {
            case 0: {
              message = rawMessage({
                type: "hello",
                protocolVersion: pick([1, 2, 3, 2 ** 40]),
                replicaId: pick([0n, 1n, p.replicaId]),
                name: pick(PATHS).slice(0, 80),
                caseInsensitive: random() < 0.5,
              });
              break;
            }
            case 1:
            case 2: {
              const records = [];
              for (let r = int(6); r > 0; r--) {
                const path = pick(PATHS);
                const seq = p.nextSequence();
                const version = [{
                  replica: pick([p.replicaId, 1n]),
                  counter: big(),
                }];
                records.push(
                  pick([
                    () =>
                      fileRecordOf(path, bytes(int(64)), seq, p.replicaId, {
                        version,
                      }),
                    () => emptyFileRecord(path, seq, p.replicaId),
                    () => tombstoneRecord(path, seq, version),
                    () =>
                      fileRecordOf(path, bytes(8), seq, p.replicaId, {
                        size: int(1000),
                      }),
                  ])(),
                );
              }
              message = rawMessage({
                type: "index_batch",
                last: random() < 0.8,
                records,
              });
              break;
            }
            case 3:
              message = rawMessage({ type: "index_ack", sequence: big() });
              break;
            case 4:
              message = rawMessage({
                type: "chunk_request",
                id: int(2 ** 32),
                path: pick(PATHS),
                hash: random() < 0.5 ? blake3(bytes(4)) : bytes(32),
                offset: pick([0, 1, int(70_000), 2 ** 40]),
                length: pick([1, 16_384, 262_144, int(300_000) + 1]),
              });
              break;
            case 5: {
              const data = bytes(int(200));
              message = rawMessage({
                type: "chunk_response",
                id: int(100),
                status: pick(["ok", "changed", "not_found", "refused"]),
                compression: pick(["none", "lz4"]),
                rawLength: pick([data.length, int(300_000), 10_000_000_000]),
                data,
              });
              break;
            }
            case 6:
              message = rawMessage({ type: "in_sync", sequence: big() });
              break;
            case 7: {
              // A group rekey of the wrong shape (a well-formed one from a
              // member would replace the group key: a member's right). The
              // body is never the 64 bytes of a real one (secret and
              // removed device), which would decode and lock the fuzzer out.
              const n = int(69);
              message = new Uint8Array([7, ...bytes(n < 64 ? n : n + 1)]);
              break;
            }
            case 8: {
              // A record diff: edits that fit or not, against a base the
              // victim has (the honest peer's start.txt), or none.
              const chunkTotal = pick([0, 1, 3, int(500_000)]);
              const added = Array.from({ length: int(4) }, () => ({
                length: pick([1, 100, 262_144, int(300_000)]),
                hash: bytes(32),
              }));
              const start = fileHashOfChunks([
                { hash: blake3(new TextEncoder().encode("start\n")) },
              ]);
              message = rawMessage({
                type: "index_diff",
                last: random() < 0.8,
                path: pick(["start.txt", ...PATHS]),
                exec: false,
                size: pick([0, 6, int(1_000_000)]),
                mtimeNs: 1n,
                sequence: p.nextSequence(),
                version: [{ replica: p.replicaId, counter: big() }],
                hash: bytes(32),
                baseHash: random() < 0.5 ? start : bytes(32),
                listHash: bytes(32),
                chunkTotal,
                edits: Array.from({ length: int(4) }, () => ({
                  keep: int(3),
                  drop: int(3),
                  add: int(3),
                })),
                added,
              });
              break;
            }
            case 9:
              // Never asked for a diff: the victim ends the connection.
              message = rawMessage({
                type: "record_request",
                path: pick(PATHS),
              });
              break;
            case 10: {
              // A block request: of the honest peer's start.txt (served,
              // as blocks) or a guess, with signatures that fit or not.
              const real = random() < 0.5;
              const length = real ? 6 : pick([1, 4097, 262_144, 300_000]);
              const fit = Math.ceil(length / 4096) * 8;
              message = rawMessage({
                type: "block_request",
                id: int(2 ** 32),
                path: real ? "start.txt" : pick(PATHS),
                hash: real
                  ? blake3(new TextEncoder().encode("start\n"))
                  : bytes(32),
                offset: real ? 0 : pick([0, int(70_000), 2 ** 40]),
                length,
                signatures: bytes(random() < 0.7 ? fit : int(600)),
              });
              break;
            }
            case 11: {
              // A block answer nobody asked for, of any shape.
              const data = bytes(int(200));
              message = rawMessage({
                type: "block_response",
                id: int(100),
                status: pick(["ok", "changed", "not_found", "refused"]),
                compression: pick(["none", "lz4"]),
                bitmap: bytes(int(10)),
                rawLength: pick([data.length, int(300_000)]),
                data,
              });
              break;
            }
            default: {
              // A valid message with a few bytes flipped, or raw garbage.
              const base = encodeMessage({ type: "index_ack", sequence: 3n });
              message = random() < 0.5 ? bytes(1 + int(100)) : base.slice();
              for (let f = 1 + int(3); f > 0; f--) {
                message[int(message.length)] = int(256);
              }
            }
          }
          const type = String(message[0] ?? 0);
          byType[type] = (byType[type] ?? 0) + 1;
          messages++;
          await p.sendRaw(message).catch(() => {});
        }
        // Let the victim answer (or close on us).
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        await p.close().catch(() => {});
      }
      // Invariants after every connection.
      try {
        Deno.statSync(`/proc/${pid}`);
      } catch {
        fail(`the victim died; its log:\n${victim.output.slice(-3000)}`);
      }
      const now = [...Deno.readDirSync(root)].map((e) => e.name).sort();
      if (now.join() !== rootListing.join()) {
        fail(`something appeared beside the folder: ${now.join(", ")}`);
      }
      const diff = diffSnapshots(outside, await snapshot(`${root}/outside`));
      if (diff.length > 0) fail(`outside/ changed: ${diff.join("; ")}`);
      const rss = residentBytes(pid) / 2 ** 20;
      peakRss = Math.max(peakRss, rss);
      if (rss > FUZZ_RSS_LIMIT_MIB) {
        fail(`victim RSS ${rss.toFixed(0)} MiB over ${FUZZ_RSS_LIMIT_MIB}`);
      }
    }
    // The honest peers still converge, both ways.
    for (const [from, to] of [["h", "v"], ["v", "h"]]) {
      const name = `after-fuzz-${from}.txt`;
      await Deno.writeTextFile(`${root}/${from}/${name}`, `${seed}\n`);
      await waitFor(
        async () =>
          await Deno.readTextFile(`${root}/${to}/${name}`).catch(() => "") ===
            `${seed}\n`,
        `seed ${seed}: ${name} to reach ${to} after the fuzzing`,
        30_000,
      );
    }
    const report = {
      seed,
      connections,
      messages,
      byType,
      peakRssMiB: Math.round(peakRss),
    };
    log(`fuzz: ${JSON.stringify(report)}`);
    return report;
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at < 0 ? undefined : args[at + 1];
  };
  const seed = Number(value("--seed") ?? Math.floor(Math.random() * 2 ** 31));
  const duration = Number(value("--duration") ?? 60);
  if (!Number.isInteger(seed) || !(duration > 0)) {
    console.error("Usage: deno task fuzz [--seed N] [--duration SECONDS]");
    Deno.exit(2);
  }
  console.log(`fuzz: seed ${seed}, ${duration} s`);
  try {
    await runFuzz(seed, duration * 1000);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
