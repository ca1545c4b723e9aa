/**
 * A real dsync process under attack by a peer that completes a valid
 * handshake and then misbehaves, while a legitimate dsync peer keeps syncing
 * with it. After every case: nothing appeared outside the folder, the files
 * that were there are unchanged, dsync is up and a fresh file from the
 * legitimate peer still arrives, and the log names what was refused.
 * @module
 */
import { blake3 } from "../../src/index/hash.ts";
import {
  type ChunkResponse,
  encodeMessage,
  MAX_MESSAGE_SIZE,
  MAX_SEQUENCE,
  type WireFileRecord,
} from "../../src/protocol/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  RUN_PERMISSIONS,
} from "./_dsync.ts";
import {
  diffSnapshots,
  randomBytes,
  type Snapshot,
  snapshot,
  writeTree,
} from "./_folders.ts";
import {
  emptyFileRecord,
  HostilePeer,
  pidOfDsync,
  rawMessage,
  residentBytes,
  tombstoneRecord,
  withTimeout,
} from "./_hostile_peer.ts";
import { waitFor } from "../_wait.ts";

const encoder = new TextEncoder();
const SECRET = "top secret outside the folder\n";
const MiB = 1024 * 1024;
/**
 * The victim's V8 old-space limit. V8 collects lazily (a flood drives the
 * resident size up to ~900 MB on a large machine, then it falls back), so
 * resident size says little; under this limit the victim dies with "out of
 * memory" if an attack needs more memory than that, and the test fails.
 */
const VICTIM_HEAP_MB = 384;

interface World {
  root: string;
  victimDir: string;
  legitDir: string;
  victim: DsyncProcess;
  legit: DsyncProcess;
  victimPort: number;
  rootListing: string[];
  outside: Snapshot;
  kept: Snapshot;
  probes: number;
}

async function listing(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

/** The world of the running test, for the failure log. */
let current: World | undefined;

/**
 * Runs one case as a step; `DSYNC_HOSTILE_ONLY=<regex>` runs only the
 * matching ones (for debugging a single case).
 */
async function step(
  t: Deno.TestContext,
  name: string,
  fn: () => void | Promise<void>,
): Promise<void> {
  const only = Deno.env.get("DSYNC_HOSTILE_ONLY");
  await t.step({
    name,
    fn: async () => {
      try {
        await fn();
      } catch (err) {
        const keep = Deno.env.get("DSYNC_HOSTILE_LOG");
        if (keep && current) {
          await Deno.writeTextFile(keep, current.victim.output);
        }
        throw err;
      }
    },
    ignore: only !== undefined && !new RegExp(only).test(name),
  });
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
function until(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
): Promise<void> {
  return waitFor(condition, what, timeoutMs, 25);
}

/** Lines of `text` that mention `needle`, counted. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The invariants every case must keep. */
async function assertUnharmed(world: World, what: string): Promise<void> {
  assertEquals(await listing(world.root), world.rootListing, what);
  const outside = await snapshot(`${world.root}/outside`);
  assertEquals(diffSnapshots(world.outside, outside), [], what);
  const now = await snapshot(world.victimDir);
  for (const [path, value] of world.kept) {
    assertEquals(now.get(path), value, `${what}: ${path} changed`);
  }
  // dsync is up and still syncs with the legitimate peer.
  const n = ++world.probes;
  const body = `probe ${n} after ${what}\n`;
  await Deno.writeTextFile(`${world.legitDir}/probe-${n}.txt`, body);
  await until(
    async () => {
      try {
        return await Deno.readTextFile(`${world.victimDir}/probe-${n}.txt`) ===
          body;
      } catch {
        return false;
      }
    },
    `probe ${n} (after ${what}) to reach the victim`,
    60_000,
  );
}

/** Waits until the victim's log names `needle` at least `times` times. */
async function logNames(
  world: World,
  needle: string,
  times = 1,
): Promise<void> {
  await until(
    () => count(world.victim.output, needle) >= times,
    () =>
      `the victim's log to name ${JSON.stringify(needle)}:\n${
        world.victim.output.slice(-4000)
      }`,
    30_000,
  );
}

/** The victim's own record of `path`, as it announced it to `peer`. */
function ownRecord(
  peer: HostilePeer,
  path: string,
): WireFileRecord | undefined {
  for (const m of peer.received) {
    if (m.type !== "index_batch") continue;
    const found = m.records.find((r) => r.path === path);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Sends one batch of invalid records and expects the connection to be cut. */
async function expectRefusedBatch(
  world: World,
  records: Parameters<HostilePeer["sendRecords"]>[0],
  logNeedle: string,
): Promise<void> {
  const peer = await HostilePeer.start(world.victimPort);
  const before = count(world.victim.output, logNeedle);
  try {
    await peer.sendRecords(records);
    await peer.closed();
    await logNames(world, logNeedle, before + 1);
  } finally {
    await peer.close();
  }
}

async function setUp(): Promise<World> {
  const root = await Deno.makeTempDir({ prefix: "dsync-hostile-" });
  const victimDir = `${root}/victim`;
  const legitDir = `${root}/legit`;
  await writeTree(`${root}/outside`, { "secret.txt": SECRET });
  await writeTree(victimDir, {
    "keep/a.txt": randomBytes(100_000, 7),
    "Notes.txt": "my notes\n",
    ".git/config": "[core]\n",
  });
  await Deno.symlink("../outside", `${victimDir}/outlink`);
  await Deno.mkdir(legitDir);
  await Deno.mkdir(`${root}/config`);
  const victimPort = freePort();
  const legitPort = freePort();
  const env = isolatedEnv(`${root}/config`);
  const victim = new DsyncProcess([
    "-d",
    victimDir,
    "-n",
    "victim",
    "-p",
    String(victimPort),
    "--no-discovery",
    "-a",
    `127.0.0.1:${legitPort}`,
  ], {
    env,
    permissions: [
      `--v8-flags=--max-semi-space-size=4,--max-old-space-size=${VICTIM_HEAP_MB}`,
      ...RUN_PERMISSIONS.filter((flag) => !flag.startsWith("--v8-flags")),
    ],
  });
  const legit = new DsyncProcess([
    "-d",
    legitDir,
    "-n",
    "legit",
    "-p",
    String(legitPort),
    "--no-discovery",
    "-a",
    `127.0.0.1:${victimPort}`,
  ], { env });
  const world: World = {
    root,
    victimDir,
    legitDir,
    victim,
    legit,
    victimPort,
    rootListing: [],
    outside: new Map(),
    kept: new Map(),
    probes: 0,
  };
  try {
    await victim.waitForOutput(/Peer legit \(.*\) connected/, 60_000);
    await until(
      () => exists(`${legitDir}/keep/a.txt`),
      "the legitimate peer's initial sync",
      60_000,
    );
  } catch (err) {
    await tearDown(world);
    throw err;
  }
  world.rootListing = await listing(root);
  world.outside = await snapshot(`${root}/outside`);
  world.kept = await snapshot(victimDir);
  return world;
}

async function tearDown(world: World): Promise<void> {
  await world.legit.stop("SIGTERM");
  await world.victim.stop("SIGTERM");
  // For debugging: DSYNC_HOSTILE_LOG=<file> keeps the victim's log.
  const keep = Deno.env.get("DSYNC_HOSTILE_LOG");
  if (keep) await Deno.writeTextFile(keep, world.victim.output);
  await Deno.remove(world.root, { recursive: true });
}

Deno.test("a dsync process under attack by a hostile peer refuses every trick and keeps syncing", async (t) => {
  const world = await setUp();
  current = world;
  try {
    await step(
      t,
      "index records with paths that leave the folder or cannot be held are refused",
      async () => {
        const bad: [string, string][] = [
          ["../outside/pwned-dotdot", "dot component"],
          ["a/../../outside/pwned", "dot component"],
          [`${world.root}/outside/pwned-abs`, "absolute"],
          ["pwned\0nul", "control character"],
          ["..\\outside\\pwned-backslash", "backslash"],
          // Names only Windows cannot hold (CON, c:, "trailing.") are
          // refused by a peer with Windows naming rules, not on the wire
          // (tests/e2e/naming_rules_test.ts, tests/protocol).
          ["cafe\u0301-nfd.txt", "not NFC"],
          ["dir//twice", "empty component"],
          [`long/${"x".repeat(300)}`, "component too long"],
        ];
        for (const [path, reason] of bad) {
          await expectRefusedBatch(
            world,
            [emptyFileRecord(path, 1n, 1n)],
            `InvalidPathError: Invalid path ${JSON.stringify(path)}`
              .slice(0, 60),
          );
          assert(world.victim.output.includes(reason), reason);
        }
        // A 10,000-character name is refused before it is decoded.
        await expectRefusedBatch(
          world,
          [emptyFileRecord("x".repeat(10_000), 1n, 1n)],
          "LimitExceededError",
        );
        // Symlink targets may point anywhere (links are never followed), but
        // not with a NUL in them.
        await expectRefusedBatch(world, [{
          ...emptyFileRecord("nul-link", 1n, 1n),
          kind: "symlink" as const,
          chunks: [],
          symlinkTarget: "a\0b",
        }], "MalformedMessageError");
        await assertUnharmed(world, "invalid paths");
      },
    );

    await step(
      t,
      "records for .dsync/, .dsyncignore and ignored paths are dropped, the session goes on",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        try {
          const ignoreBefore = await Deno.readTextFile(
            `${world.victimDir}/.dsyncignore`,
          );
          const records = [
            ".dsync/index.db",
            ".DSYNC/evil",
            ".dsyncignore",
            "node_modules/evil.js",
            "x.part",
          ].map((p) => emptyFileRecord(p, peer.nextSequence(), peer.replicaId));
          await peer.sendRecords(records);
          const last = peer.sequence;
          await peer.waitFor(
            () =>
              peer.received.some((m) =>
                m.type === "index_ack" && m.sequence === last
              ),
            "the ack of the dropped records",
          );
          assert(peer.open, "the connection stays open");
          assertEquals(
            await Deno.readTextFile(`${world.victimDir}/.dsyncignore`),
            ignoreBefore,
          );
          assert(!await exists(`${world.victimDir}/.DSYNC`));
          assert(!await exists(`${world.victimDir}/node_modules`));
          assert(!await exists(`${world.victimDir}/x.part`));
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "ignored paths");
      },
    );

    await step(
      t,
      "NFC names and case-only twins are taken as distinct files on a case-sensitive disk",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        try {
          await peer.sendRecords(
            ["caf\u00e9.txt", "Twin.txt", "twin.txt", "notes.txt"].map((p) =>
              emptyFileRecord(p, peer.nextSequence(), peer.replicaId)
            ),
          );
          await until(
            async () =>
              await exists(`${world.victimDir}/caf\u00e9.txt`) &&
              await exists(`${world.victimDir}/Twin.txt`) &&
              await exists(`${world.victimDir}/twin.txt`) &&
              await exists(`${world.victimDir}/notes.txt`),
            "the twins to be created",
          );
          assert(peer.open);
        } finally {
          await peer.close();
        }
        // Notes.txt (checked by assertUnharmed) kept its content.
        await assertUnharmed(world, "twins");
      },
    );

    await step(
      t,
      "a symlink pointing outside is kept as a link and nothing is written through it",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        try {
          const link = (path: string, target: string) => ({
            ...emptyFileRecord(path, peer.nextSequence(), peer.replicaId),
            kind: "symlink" as const,
            hash: blake3(encoder.encode(target)),
            chunks: [],
            symlinkTarget: target,
          });
          await peer.sendRecords([
            link("esc", "../outside"),
            link("esc-abs", `${world.root}/outside`),
          ]);
          await until(
            async () =>
              await exists(`${world.victimDir}/esc`) &&
              await exists(`${world.victimDir}/esc-abs`),
            "the links",
          );
          assert((await Deno.lstat(`${world.victimDir}/esc`)).isSymlink);
          assertEquals(
            await Deno.readLink(`${world.victimDir}/esc`),
            "../outside",
          );
          // Then files "inside" the links, empty and with content.
          await peer.sendRecords([
            emptyFileRecord("esc/pwned-empty.txt", 0n, 0n, {
              sequence: peer.nextSequence(),
              version: [{ replica: peer.replicaId, counter: 1n }],
            }),
            emptyFileRecord("esc-abs/pwned-abs.txt", 0n, 0n, {
              sequence: peer.nextSequence(),
              version: [{ replica: peer.replicaId, counter: 1n }],
            }),
            emptyFileRecord("esc/deeper/pwned.txt", 0n, 0n, {
              sequence: peer.nextSequence(),
              version: [{ replica: peer.replicaId, counter: 1n }],
            }),
          ]);
          await peer.announce(
            "esc/pwned-data.txt",
            encoder.encode("pwned through a link\n"),
            "correct",
          );
          await logNames(world, `parent "esc" is a symlink`, 3);
          await logNames(world, `parent "esc-abs" is a symlink`);
          assert(peer.open);
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "symlink escape");
      },
    );

    await step(
      t,
      "chunks that do not match their hash, LZ4 bombs and 10 GB claims cut the connection",
      async () => {
        const cases: [
          string,
          "wrong-bytes" | "lz4-bomb" | "lz4-10gb",
          string,
        ][] = [
          ["bad-hash.bin", "wrong-bytes", "ChunkHashMismatchError"],
          ["lz4-bomb.bin", "lz4-bomb", "DecompressionError"],
          ["lz4-10gb.bin", "lz4-10gb", "ChunkResponse raw length"],
        ];
        let seed = 100;
        for (const [path, mode, needle] of cases) {
          const peer = await HostilePeer.start(world.victimPort);
          const before = count(world.victim.output, needle);
          try {
            await peer.announce(path, randomBytes(200_000, ++seed), mode);
            await peer.closed();
            assert(peer.requests > 0, `${path} was requested`);
            await logNames(world, needle, before + 1);
          } finally {
            await peer.close();
          }
          assert(!await exists(`${world.victimDir}/${path}`), path);
        }
        await assertUnharmed(world, "bad chunks");
        const parts = [...(await snapshot(world.victimDir, false)).keys()]
          .filter((p) => p.endsWith(".part"));
        assertEquals(parts, [], "no .part file is left behind");
      },
    );

    await step(
      t,
      "requests for paths outside, through links, in .dsync/ or ignored are refused",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        const kept = await Deno.readFile(`${world.victimDir}/keep/a.txt`);
        const responses = new Map<number, ChunkResponse>();
        const ask = async (id: number, path: string, hash: Uint8Array) => {
          await peer.send({
            type: "chunk_request",
            id,
            path,
            hash,
            offset: 0,
            length: Math.min(kept.length, 1000),
          });
        };
        try {
          const zero = new Uint8Array(32);
          await ask(1, ".dsync/index.db", zero);
          await ask(2, ".git/config", zero);
          await ask(3, "outlink/secret.txt", blake3(encoder.encode(SECRET)));
          await ask(4, "outlink", zero);
          await ask(5, "keep/a.txt", zero);
          await ask(6, "no/such/file", zero);
          // The first chunk of the victim's record is served; its first
          // 1,000 bytes alone are not.
          await peer.waitFor(
            () => ownRecord(peer, "keep/a.txt") !== undefined,
            "the victim's record of keep/a.txt",
          );
          const first = ownRecord(peer, "keep/a.txt")!.chunks[0]!;
          await peer.send({
            type: "chunk_request",
            id: 7,
            path: "keep/a.txt",
            hash: first.hash,
            offset: 0,
            length: first.length,
          });
          await peer.send({
            type: "chunk_request",
            id: 8,
            path: "keep/a.txt",
            hash: blake3(kept.subarray(0, 1000)),
            offset: 0,
            length: 1000,
          });
          await peer.waitFor(() => {
            for (const m of peer.received) {
              if (m.type === "chunk_response") responses.set(m.id, m);
            }
            return responses.size === 8;
          }, "eight answers");
          const status = (id: number) => responses.get(id)?.status;
          // Anything but a whole indexed chunk is `changed`, unread.
          assertEquals(
            [1, 2, 3, 4, 5, 6, 7, 8].map(status),
            [
              "refused",
              "refused",
              "changed",
              "changed",
              "changed",
              "changed",
              "ok",
              "changed",
            ],
          );
          await logNames(world, "chunk request for .dsync/index.db@0: inside");
          await logNames(world, "chunk request for .git/config@0: ignored");
          // A path that leaves the folder does not even decode.
          await peer.sendRaw(rawMessage({
            type: "chunk_request",
            id: 9,
            path: "../outside/secret.txt",
            hash: blake3(encoder.encode(SECRET)),
            offset: 0,
            length: SECRET.length,
          }));
          await peer.closed();
          await logNames(world, `Invalid path "../outside/secret.txt"`);
          for (const m of peer.received) {
            if (m.type !== "chunk_response") continue;
            assert(!new TextDecoder().decode(m.data).includes("top secret"));
          }
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "requests");
      },
    );

    await step(
      t,
      "version counters above the index's range are refused, record by record",
      async () => {
        const hello = await (async () => {
          const peer = await HostilePeer.start(world.victimPort);
          try {
            return await peer.hello();
          } finally {
            await peer.close();
          }
        })();
        const peer = await HostilePeer.start(world.victimPort);
        try {
          const before = count(world.victim.output, "WireRecordError");
          await peer.sendRecords([
            emptyFileRecord("counter-max.txt", peer.nextSequence(), 0n, {
              version: [{ replica: peer.replicaId, counter: MAX_SEQUENCE }],
            }),
            // Our own replica's counter pushed to where one more edit here
            // would leave the safe integers: refused.
            emptyFileRecord("counter-own.txt", peer.nextSequence(), 0n, {
              version: [{ replica: hello.replicaId, counter: 2n ** 53n - 1n }],
            }),
            // Any replica's counter above 2^52: refused here as by every
            // device (one rule for all, so no device takes what another refuses).
            emptyFileRecord("counter-over.txt", peer.nextSequence(), 0n, {
              version: [{ replica: peer.replicaId, counter: 2n ** 52n + 1n }],
            }),
            // The highest counter taken: edits here still have room.
            emptyFileRecord("counter-top.txt", peer.nextSequence(), 0n, {
              version: [{ replica: peer.replicaId, counter: 2n ** 52n }],
            }),
            emptyFileRecord("counter-ok.txt", peer.nextSequence(), 0n, {
              version: [{ replica: peer.replicaId, counter: 5n }],
            }),
          ]);
          await until(
            () => exists(`${world.victimDir}/counter-ok.txt`),
            "the record with a sane counter",
          );
          await logNames(world, "WireRecordError", before + 3);
          assert(world.victim.output.includes("counter-max.txt"));
          assert(world.victim.output.includes("counter-own.txt"));
          assert(world.victim.output.includes("counter-over.txt"));
          assert(peer.open, "a refused record does not end the session");
          // A counter of 2^64 does not even decode.
          await peer.sendRecords([
            emptyFileRecord("counter-2-64.txt", peer.nextSequence(), 0n, {
              version: [{ replica: peer.replicaId, counter: 2n ** 64n }],
            }),
          ]);
          await peer.closed();
          await logNames(world, "record version counter");
        } finally {
          await peer.close();
        }
        assert(!await exists(`${world.victimDir}/counter-max.txt`));
        assert(!await exists(`${world.victimDir}/counter-own.txt`));
        assert(!await exists(`${world.victimDir}/counter-over.txt`));
        // Edits here still sync, also of the file whose version the peer
        // pushed to the top of our own counter's range.
        for (const name of ["counter-ok.txt", "counter-top.txt"]) {
          await Deno.writeTextFile(`${world.victimDir}/${name}`, "edited\n");
          await until(
            async () => {
              try {
                return await Deno.readTextFile(`${world.legitDir}/${name}`) ===
                  "edited\n";
              } catch {
                return false;
              }
            },
            `an edit of ${name} after the counter attack to reach the legitimate peer`,
          );
        }
        await assertUnharmed(world, "version counters");
        assert(
          !world.victim.output.includes("Skipping a record from legit"),
          "our own edits echoed back by the legitimate peer are taken",
        );
      },
    );

    const pid = pidOfDsync(world.victimDir);
    const rssBefore = residentBytes(pid);
    let rssPeak = rssBefore;
    const sample = () => {
      rssPeak = Math.max(rssPeak, residentBytes(pid));
    };

    await step(
      t,
      "a message at the size cap is taken, one byte more cuts the connection",
      async () => {
        const peer = await HostilePeer.start(world.victimPort, {
          maxMessageSize: 2 * MAX_MESSAGE_SIZE,
        });
        try {
          const { bytes, last } = batchOfExactSize(peer, MAX_MESSAGE_SIZE);
          assertEquals(bytes.length, MAX_MESSAGE_SIZE);
          await withTimeout(peer.sendRaw(bytes), 60_000, "sending 16 MiB");
          await peer.waitFor(
            () =>
              peer.received.some((m) =>
                m.type === "index_ack" && m.sequence === last
              ),
            "the ack of the 16 MiB batch",
            60_000,
          );
          sample();
          const over = new Uint8Array(MAX_MESSAGE_SIZE + 1);
          over[0] = 6; // in_sync, padded far past its end
          // Not awaited: dsync closes after the 4 length bytes, and the
          // rest of the write may never settle.
          peer.sendRaw(over).catch(() => {});
          await peer.closed();
          await logNames(world, "MessageTooLargeError");
          sample();
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "size cap");
      },
    );

    await step(
      t,
      "a million tiny messages are handled and the session stays up",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        const total = 1_000_000;
        const started = Date.now();
        try {
          const tiny = rawMessage({ type: "in_sync", sequence: 1n });
          for (let sent = 0; sent < total;) {
            const group: Promise<void>[] = [];
            for (let i = 0; i < 1000 && sent < total; i++, sent++) {
              group.push(peer.sendRaw(tiny));
            }
            await Promise.all(group);
            sample();
          }
          // Still answering: an ack comes back for a fresh record.
          const seq = peer.nextSequence();
          await peer.sendRecords([
            emptyFileRecord("after-million.txt", seq, peer.replicaId),
          ]);
          await peer.waitFor(
            () =>
              peer.received.some((m) =>
                m.type === "index_ack" && m.sequence === seq
              ),
            "the ack after a million messages",
            60_000,
          );
          assert(peer.open);
          console.log(
            `  ${total} tiny messages handled in ${Date.now() - started} ms`,
          );
        } finally {
          await peer.close();
        }
        sample();
        await assertUnharmed(world, "a million messages");
      },
    );

    await step(
      t,
      "a chunk request flood is cut off or answered, never queued without bound",
      async () => {
        const peer = await HostilePeer.start(world.victimPort);
        const total = 20_000;
        const before = count(world.victim.output, "TooManyRequestsError");
        try {
          const group: Promise<void>[] = [];
          for (let id = 1; id <= total; id++) {
            group.push(
              peer.send({
                type: "chunk_request",
                id,
                path: "no/such/file",
                hash: new Uint8Array(32),
                offset: 0,
                length: 1,
              }).catch(() => {}),
            );
          }
          await Promise.all(group);
          await peer.waitFor(
            () =>
              !peer.open ||
              peer.responses === total,
            "the flood to be cut off or answered",
            60_000,
          );
          if (!peer.open) {
            await logNames(world, "TooManyRequestsError", before + 1);
          }
          sample();
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "request flood");
      },
    );

    await step(
      t,
      "index batches beyond the record cap are refused; a stream of full batches is stored in bounded memory",
      async () => {
        // A batch announcing 10 million records fails at its count.
        const liar = await HostilePeer.start(world.victimPort);
        try {
          await liar.sendRaw(Uint8Array.of(2, 1, 0x80, 0xad, 0xe2, 0x04));
          await liar.closed();
          await logNames(world, "IndexBatch record count");
        } finally {
          await liar.close();
        }
        // As many full batches as the protocol allows, for a bounded count:
        // the victim's own record of keep/a.txt, repeated (same version, so
        // there is nothing to do but store and ack it).
        const peer = await HostilePeer.start(world.victimPort);
        const batches = 25;
        const started = Date.now();
        try {
          await peer.waitFor(
            () => ownRecord(peer, "keep/a.txt") !== undefined,
            "the victim's record of keep/a.txt",
          );
          const own = ownRecord(peer, "keep/a.txt")!;
          for (let b = 0; b < batches; b++) {
            const records = [];
            for (let i = 0; i < 4096; i++) {
              records.push({ ...own, sequence: peer.nextSequence() });
            }
            await peer.send({ type: "index_batch", last: true, records });
            sample();
          }
          const last = peer.sequence;
          await peer.waitFor(
            () =>
              peer.received.some((m) =>
                m.type === "index_ack" && m.sequence === last
              ),
            "the ack of the last batch",
            90_000,
          );
          sample();
          assert(peer.open);
          console.log(
            `  ${batches * 4096} records in ${batches} batches stored in ${
              Date.now() - started
            } ms`,
          );
          // A batch of 4096 records refused one by one is logged in a
          // bounded number of lines.
          const before = count(world.victim.output, "Skip");
          const bad = [];
          for (let i = 0; i < 4096; i++) {
            bad.push(
              emptyFileRecord(`bad-counter/${i}`, peer.nextSequence(), 0n, {
                version: [{ replica: peer.replicaId, counter: MAX_SEQUENCE }],
              }),
            );
          }
          await peer.sendRecords(bad);
          const lastBad = peer.sequence;
          await peer.waitFor(
            () =>
              peer.received.some((m) =>
                m.type === "index_ack" && m.sequence === lastBad
              ),
            "the ack of the refused batch",
          );
          await logNames(world, "Skipped 4096 records from hostile");
          const lines = count(world.victim.output, "Skip") - before;
          assert(lines < 40, `${lines} log lines for 4096 refused records`);
        } finally {
          await peer.close();
        }
        await assertUnharmed(world, "index batch flood");
      },
    );

    await step(
      t,
      `memory stayed under the victim's ${VICTIM_HEAP_MB} MB heap limit through the big cases`,
      async () => {
        // Alive under its heap limit, and still syncing.
        await assertUnharmed(world, "the big cases");
        assert(!/out of memory/i.test(world.victim.output));
        sample();
        console.log(
          `  victim RSS ${(rssBefore / MiB).toFixed(0)} MiB before, peak ${
            (rssPeak / MiB).toFixed(0)
          } MiB, now ${(residentBytes(pid) / MiB).toFixed(0)} MiB`,
        );
      },
    );

    assert(
      !/Uncaught|panicked/.test(world.victim.output),
      world.victim.output.slice(-4000),
    );
  } finally {
    await tearDown(world);
  }
});

/**
 * A valid `IndexBatch` of 4096 tombstones with long paths whose encoding is
 * exactly `size` bytes. Returns it and its last sequence.
 */
function batchOfExactSize(
  peer: HostilePeer,
  size: number,
): { bytes: Uint8Array; last: bigint } {
  const version = [{ replica: peer.replicaId, counter: 1n }];
  const pathOf = (i: number, length: number) => {
    let path = `cap/${String(i).padStart(4, "0")}`;
    while (path.length < length) {
      const room = length - path.length;
      if (room === 1) path += "c";
      else path += "/" + "c".repeat(Math.min(250, room - 1));
    }
    return path;
  };
  const start = peer.sequence;
  const count = 4096;
  const build = (lengths: number[]) =>
    encodeMessage({
      type: "index_batch",
      last: true,
      records: lengths.map((length, i) =>
        tombstoneRecord(pathOf(i, length), start + BigInt(i + 1), version)
      ),
    });
  // Start under the cap (the encoder refuses more), then grow or shrink.
  const lengths = new Array<number>(count).fill(3900);
  for (let round = 0; round < 20; round++) {
    const bytes = build(lengths);
    const excess = bytes.length - size;
    if (excess === 0) {
      peer.sequence = start + BigInt(count);
      return { bytes, last: peer.sequence };
    }
    // Spread the difference over the records, keeping paths 200..4096.
    let left = excess;
    for (let i = 0; i < count && left !== 0; i++) {
      const target = Math.max(200, Math.min(4096, lengths[i]! - left));
      left -= lengths[i]! - target;
      lengths[i] = target;
    }
  }
  throw new Error(`Cannot build a batch of exactly ${size} bytes`);
}
