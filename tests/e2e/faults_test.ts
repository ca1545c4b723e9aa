/**
 * Faults: real dsync processes killed, cut off, out of disk, facing files
 * that change kind or cannot be read, and restarted on a broken index.
 * Each case is listed in docs/FAILURES.md. The cases that need root
 * (namespaces, tmpfs, dropped capabilities) print why they are skipped
 * elsewhere.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { isolatedEnv } from "./_dsync.ts";
import {
  diffSnapshots,
  randomBytes,
  snapshot,
  SyncPair,
  waitIdentical,
  writeTree,
} from "./_folders.ts";
import { waitFor } from "../_wait.ts";
import {
  countLines,
  largestPart,
  sizeOf,
  skip,
  startLinkedPair,
  startNode,
  Tmpfs,
  whyNotRoot,
  withThrottledLink,
  writeBigFile,
} from "./_faults.ts";

const MiB = 1024 * 1024;

/** Fails when `path` exists with a size other than `size` (a partial file in place). */
async function assertWholeOrAbsent(path: string, size: number): Promise<void> {
  const found = await sizeOf(path);
  assert(
    found === undefined || found === size,
    `${path} is in place with ${found} of ${size} bytes`,
  );
}

/** Times of day (ms) of the log lines matching `pattern` (`HH:MM:SS.mmm` prefix). */
function logTimes(output: string, pattern: RegExp): number[] {
  const times: number[] = [];
  for (const line of output.split("\n")) {
    const m = line.match(/^(\d\d):(\d\d):(\d\d)\.(\d\d\d) /);
    if (m === null || !pattern.test(line)) continue;
    const [h, min, sec, ms] = m.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    times.push(((h * 60 + min) * 60 + sec) * 1000 + ms);
  }
  return times;
}

Deno.test("faults: a receiver, then a sender, killed -9 mid 1 GiB restart and the file ends byte-identical", async () => {
  await using pair = await SyncPair.create();
  const size = 1024 * MiB;
  await writeBigFile(`${pair.a.dir}/huge.bin`, size, 21);
  const target = `${pair.b.dir}/huge.bin`;
  pair.startBoth();
  await waitFor(
    async () => {
      await assertWholeOrAbsent(target, size);
      return await largestPart(pair.b.dir) > size / 4;
    },
    "a quarter of the .part on the receiver",
    120_000,
    10,
  );
  await pair.stop(pair.b, "SIGKILL");
  assertEquals(await sizeOf(target), undefined, "half a file in place");
  const restarted = pair.start(pair.b);
  await waitFor(
    async () => {
      await assertWholeOrAbsent(target, size);
      return await largestPart(pair.b.dir) > size * 0.6;
    },
    "60% of the .part on the receiver",
    120_000,
    10,
  );
  await pair.stop(pair.a, "SIGKILL");
  assertEquals(await sizeOf(target), undefined, "half a file in place");
  pair.start(pair.a);
  await waitFor(
    async () => {
      await assertWholeOrAbsent(target, size);
      return await sizeOf(target) === size;
    },
    "the file in place on the receiver",
    180_000,
    20,
  );
  await pair.identical({ timeoutMs: 60_000 });
  assertEquals(
    [...Deno.readDirSync(pair.b.dir)].filter((e) => e.name.endsWith(".part")),
    [],
  );
  const resumed = restarted.output.match(
    /Resuming huge\.bin from its \.part of (\d+) bytes/,
  );
  console.log(
    resumed === null
      ? "Started over from byte 0"
      : `Resumed from a .part of ${resumed[1]} bytes`,
  );
});

Deno.test("faults: an index deleted, garbled or truncated while stopped is rebuilt and deletes nothing", async () => {
  await using pair = await SyncPair.create();
  const files: Record<string, Uint8Array | string> = {
    "one.txt": "1",
    "dir/two.txt": "2",
    "dir/sub/three.bin": randomBytes(200_000, 3),
  };
  for (let i = 0; i < 200; i++) files[`many/f${i}.txt`] = `file ${i}`;
  await writeTree(pair.a.dir, files);
  pair.startBoth();
  await pair.identical({ check: (s) => s.has("many/f199.txt") });
  const expected = await snapshot(pair.a.dir);
  const index = `${pair.b.dir}/.dsync/index.db`;
  const breakages: [string, () => Promise<void>][] = [
    ["garbled", async () => {
      using f = await Deno.open(index, { write: true });
      await f.write(randomBytes(64 * 1024, 99));
    }],
    ["truncated", async () => {
      const { size } = await Deno.stat(index);
      await Deno.truncate(index, Math.floor(size / 2));
    }],
    ["deleted", async () => {
      await Deno.remove(index);
    }],
  ];
  for (const [what, breakIt] of breakages) {
    assertEquals(await pair.stop(pair.a), 0);
    assertEquals(await pair.stop(pair.b), 0);
    await breakIt();
    pair.startBoth();
    const b = pair.b.proc!;
    await pair.connected();
    if (what !== "deleted") {
      await b.waitForOutput(/[Rr]ebuil/);
    }
    const snap = await pair.identical();
    assertEquals(
      diffSnapshots(snap, expected),
      [],
      `after the index was ${what}`,
    );
  }
  const aside = [...Deno.readDirSync(`${pair.b.dir}/.dsync`)].filter((e) =>
    e.name.includes("corrupt")
  );
  assert(aside.length >= 1, "the broken index was not kept aside");
});

Deno.test("faults: a link cut for 30 s mid-transfer comes back and the transfer finishes", async () => {
  await withThrottledLink(
    "link cut",
    "40mbit",
    async ({ link, a, b, env, procs }) => {
      const size = 40 * MiB;
      await writeBigFile(`${a}/over-the-link.bin`, size, 31);
      await writeTree(a, { "small.txt": "small" });
      const port = 9611;
      procs.push(...startLinkedPair(link, a, b, port, env));
      await waitFor(
        async () => await largestPart(b) > 4 * MiB,
        "4 MiB of the .part on the receiver",
        60_000,
        20,
      );
      await link.setUp(false);
      const cutAt = await largestPart(b);
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      assertEquals(
        await sizeOf(`${b}/over-the-link.bin`),
        undefined,
        "the file completed through a cut link",
      );
      await link.setUp(true);
      console.log(`Link cut with ${cutAt} of ${size} bytes in the .part`);
      await waitIdentical(a, b, { timeoutMs: 120_000, procs });
      for (const proc of procs) assertEquals(await proc.stop(), 0);
    },
  );
});

Deno.test("faults: a full disk on the receiver is reported once, loses nothing, and the sync finishes once space is freed", async () => {
  const name = "disk full";
  const reason = await whyNotRoot([["mount", ["-V"]]]);
  if (reason !== undefined) return skip(name, reason);
  await using pair = await SyncPair.create();
  await using _fs = await Tmpfs.mount(pair.b.dir, "48m");
  const files: Record<string, Uint8Array | string> = {};
  for (let i = 0; i < 4; i++) {
    files[`big/part${i}.bin`] = randomBytes(16 * MiB, 40 + i);
  }
  for (let i = 0; i < 50; i++) files[`small/s${i}.txt`] = `small ${i}`;
  await writeTree(pair.a.dir, files);
  const before = await snapshot(pair.a.dir);
  pair.start(pair.a);
  const b = pair.start(pair.b, ["-v"]);
  await b.waitForOutput(/The disk is full/, 60_000);
  // Retries fail while the disk stays full, quietly (debug lines only).
  // Retries come 10 s apart: a quiet failure 5 s after the notice is one.
  await waitFor(
    () => {
      const first = logTimes(b.output, /The disk is full/)[0]!;
      return logTimes(b.output, /Still no space for/).some((t) =>
        t > first + 5_000
      );
    },
    "a retry that failed again",
    60_000,
    20,
  );
  assertEquals(countLines(b.output, /The disk is full/), 1, b.output);
  // Besides the notice, a rescan that could not store its result may say
  // "database or disk is full" once or twice; never a line per file.
  const noisy = countLines(
    b.output,
    /\[(WRN|ERR)\].*(No space left|disk is full)/,
  );
  assert(noisy <= 3, `${noisy} lines about the full disk:\n${b.output}`);
  // Whatever is in place on the receiver is whole and right.
  const partial = await snapshot(pair.b.dir);
  for (const [path, value] of partial) {
    if (value === "dir" || path.endsWith(".part")) continue;
    assertEquals(value, before.get(path), `${path} on the full disk`);
  }
  // Files wait to be retried: the folders differ, so no "in sync" claim.
  assertEquals(countLines(b.output, /In sync with/), 0, b.output);
  await _fs.resize("160m");
  const snap = await pair.identical({ timeoutMs: 60_000 });
  assertEquals(diffSnapshots(snap, before), []);
  assertEquals(diffSnapshots(await snapshot(pair.a.dir), before), []);
  await b.waitForOutput(/Disk space is available again/);
  await b.waitForOutput(/In sync with 1 peer/);
});

Deno.test("faults: a file replaced by a directory and a directory by a file are mirrored", async () => {
  await using pair = await SyncPair.create();
  const a = pair.a.dir;
  await writeTree(a, {
    "was-file": "a file first",
    "was-dir/inner.txt": "inside",
    "was-dir/deeper/more.txt": "more",
    "bystander.txt": "unchanged",
  });
  pair.startBoth();
  await pair.identical({ check: (s) => s.has("was-dir/deeper/more.txt") });
  await Deno.remove(`${a}/was-file`);
  await writeTree(a, { "was-file/now-inside.txt": "a directory now" });
  await Deno.remove(`${a}/was-dir`, { recursive: true });
  await writeTree(a, { "was-dir": "a file now" });
  const snap = await pair.identical({
    check: (s) =>
      s.get("was-file") === "dir" && s.has("was-file/now-inside.txt") &&
      s.get("was-dir")?.startsWith("file:") === true,
  });
  assert(!snap.has("was-dir/inner.txt"));
  assert(snap.has("bystander.txt"));
  const b = pair.b.proc!;
  await b.waitForOutput(/was-file became a directory on a peer/);
  await b.waitForOutput(/was-dir became a file on a peer/);
});

Deno.test("faults: permission denied on the sender or the receiver is named in the log and the rest syncs", async () => {
  const name = "permission denied";
  // Root reads and writes any file: as root, both nodes run without the
  // capabilities that bypass file permissions (CAP_DAC_OVERRIDE,
  // CAP_DAC_READ_SEARCH).
  const reason = Deno.uid() === 0
    ? await whyNotRoot([["setpriv", ["--version"]]])
    : undefined;
  if (reason !== undefined) return skip(name, reason);
  const wrapper = Deno.uid() === 0
    ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    : [];
  await using pair = await SyncPair.create();
  const a = pair.a.dir;
  await writeTree(a, {
    "readable.txt": "fine",
    "locked.txt": "secret",
    "sub/also-fine.txt": "fine too",
    "closed-dir/hidden.txt": "behind a closed door",
    "read-only-there/incoming.txt": "cannot land yet",
  });
  await Deno.chmod(`${a}/locked.txt`, 0o000);
  await Deno.chmod(`${a}/closed-dir`, 0o000);
  const readOnly = `${pair.b.dir}/read-only-there`;
  await Deno.mkdir(readOnly);
  await Deno.chmod(readOnly, 0o555);
  const env = isolatedEnv(`${pair.root}/home`);
  const sender = startNode({
    dir: a,
    name: "alpha",
    port: pair.a.port,
    peer: `127.0.0.1:${pair.b.port}`,
    wrapper,
    env,
    extra: ["-v"],
  });
  pair.a.proc = sender;
  const receiver = startNode({
    dir: pair.b.dir,
    name: "beta",
    port: pair.b.port,
    peer: `127.0.0.1:${pair.a.port}`,
    wrapper,
    env,
  });
  pair.b.proc = receiver;
  await waitFor(
    async () => {
      const snap = await snapshot(pair.b.dir, false);
      return snap.has("readable.txt") && snap.has("sub/also-fine.txt");
    },
    "the readable files on the receiver",
    30_000,
    20,
  );
  // The unreadable directory is left out of the watch (a rescan follows
  // at once). Each problem is a warning once, not once per scan.
  await waitFor(
    () => countLines(sender.output, /Scan done/) >= 2,
    "a second scan",
    30_000,
    20,
  );
  assertEquals(
    countLines(sender.output, /WRN.*Cannot read file locked\.txt/),
    1,
    sender.output,
  );
  assertEquals(
    countLines(sender.output, /WRN.*Cannot read directory closed-dir/),
    1,
  );
  assertEquals(await sizeOf(`${pair.b.dir}/locked.txt`), undefined);
  await receiver.waitForOutput(
    /WRN.*Cannot apply read-only-there\/incoming\.txt: PermissionDenied/,
  );
  // Readable and writable again: it all syncs.
  await Deno.chmod(`${a}/locked.txt`, 0o644);
  await Deno.chmod(`${a}/closed-dir`, 0o755);
  await Deno.chmod(readOnly, 0o755);
  await pair.identical({
    check: (s) =>
      s.has("locked.txt") && s.has("closed-dir/hidden.txt") &&
      s.has("read-only-there/incoming.txt"),
  });
  await sender.waitForOutput(/locked\.txt can be read again/);
});

Deno.test("faults: a file that changes while it is sent ends as its last version, with a log line", async () => {
  await using pair = await SyncPair.create();
  const a = pair.a.dir;
  await writeBigFile(`${a}/changing.bin`, 48 * MiB, 51);
  await writeTree(a, { "steady.txt": "steady" });
  pair.startBoth();
  // Change it as soon as the receiver starts on it (if it is already in
  // place by then, the change is simply the next version).
  let started = "";
  try {
    await waitFor(
      async () => {
        if (await sizeOf(`${pair.b.dir}/changing.bin`) !== undefined) {
          started = "already in place";
        } else if (await largestPart(pair.b.dir) > 0) started = "in a .part";
        return started !== "";
      },
      "the receiver to start on the file",
      60_000,
      5,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}:\n${
        pair.procs.map((p) => p.output).join("\n")
      }`,
    );
  }
  await writeBigFile(`${a}/changing.bin`, 40 * MiB, 52);
  const snap = await pair.identical({ timeoutMs: 60_000 });
  assertEquals(
    snap.get("changing.bin")?.startsWith(`file:false:${40 * MiB}:`),
    true,
  );
  // Which side notices first is a race: the sender's watcher (a new
  // version is announced, the receiver drops the old pull) or a chunk
  // request answered "changed" (logged by the sender).
  const noticed = /changing\.bin changed while a peer was fetching it/.test(
    pair.a.proc!.output,
  );
  console.log(
    `Changed while ${started}; ${
      noticed ? "the sender answered 'changed'" : "the new version came first"
    }`,
  );
});
