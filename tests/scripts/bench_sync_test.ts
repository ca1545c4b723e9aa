import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  type DatasetSpec,
  smallFilePath,
  writeDataset,
} from "../../scripts/bench_sync/datasets.ts";
import { parseCli } from "../../scripts/bench_sync.ts";
import { startTaskV8Flags } from "../../scripts/bench_sync/dsync_tool.ts";
import { waitForIdentical } from "../../scripts/bench_sync/completion.ts";
import { summarizeLatency } from "../../scripts/bench_sync/latency_stats.ts";
import {
  buildManifest,
  findMismatches,
  foldersIdentical,
} from "../../scripts/bench_sync/manifest.ts";
import { Prng } from "../../scripts/bench_sync/prng.ts";
import {
  deviceIdOf,
  syncthingConfig,
} from "../../scripts/bench_sync/syncthing_config.ts";

async function withTempDirs(
  count: number,
  fn: (...dirs: string[]) => Promise<void>,
): Promise<void> {
  const dirs: string[] = [];
  try {
    for (let i = 0; i < count; i++) dirs.push(await Deno.makeTempDir());
    await fn(...dirs);
  } finally {
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
}

const SPECS: DatasetSpec[] = [
  { kind: "random", files: 2, size: 100_003 },
  { kind: "small", files: 23, size: 517, perDir: 5 },
  { kind: "text", files: 5, size: 20_000 },
];

Deno.test("writeDataset() writes the same bytes for the same seed", async () => {
  for (const spec of SPECS) {
    await withTempDirs(3, async (a, b, c) => {
      await writeDataset(a!, spec, 7);
      await writeDataset(b!, spec, 7);
      await writeDataset(c!, spec, 8);
      const [ma, mb, mc] = await Promise.all([a!, b!, c!].map(buildManifest));
      assertEquals(ma!.size, spec.files, spec.kind);
      for (const entry of ma!.values()) assertEquals(entry.size, spec.size);
      assertEquals(ma, mb, spec.kind);
      assert(
        [...ma!.values()].every((e, i) =>
          e.sha256 !== [...mc!.values()][i]!.sha256
        ),
        `${spec.kind}: another seed gives other bytes`,
      );
    });
  }
});

Deno.test("writeDataset() text is line-structured ASCII", async () => {
  await withTempDirs(1, async (dir) => {
    await writeDataset(dir!, { kind: "text", files: 1, size: 4096 }, 1);
    const text = await Deno.readTextFile(`${dir}/pkg0/module_000.ts`);
    assert(/^[\x20-\x7e\n]+$/.test(text), "printable ASCII");
    assert(text.split("\n").length > 40, "many lines");
    assert(text.endsWith("\n"));
  });
});

Deno.test("smallFilePath() puts ~perDir files in each folder", () => {
  assertEquals(smallFilePath(0, 100), "s00/t0/f00000.bin");
  assertEquals(smallFilePath(99, 100), "s00/t0/f00099.bin");
  assertEquals(smallFilePath(100, 100), "s00/t1/f00100.bin");
  assertEquals(smallFilePath(19_999, 100), "s19/t9/f19999.bin");
});

Deno.test("Prng.fill() matches next() on aligned buffers", () => {
  const a = new Uint8Array(64);
  new Prng(3).fill(a);
  const words = new Uint32Array(a.buffer);
  const rng = new Prng(3);
  for (let i = 0; i < words.length; i++) assertEquals(words[i], rng.next());
  assertThrows(() => new Prng(-1), RangeError);
});

Deno.test("foldersIdentical() compares files byte for byte", async () => {
  await withTempDirs(2, async (a, b) => {
    const spec: DatasetSpec = {
      kind: "small",
      files: 12,
      size: 300,
      perDir: 4,
    };
    await writeDataset(a!, spec, 5);
    await writeDataset(b!, spec, 5);
    // What sync tools keep for themselves is not compared.
    await Deno.mkdir(`${b}/.stfolder`);
    await Deno.writeTextFile(`${b}/.dsyncignore`, "x");
    await Deno.writeTextFile(`${b}/s00/t0/f00000.bin.part`, "x");
    assert(await foldersIdentical(a!, b!), "identical");

    const path = `${b}/${smallFilePath(7, 4)}`;
    const bytes = await Deno.readFile(path);
    bytes[150] = bytes[150]! ^ 1;
    await Deno.writeFile(path, bytes);
    assert(!(await foldersIdentical(a!, b!)), "one byte differs");
    assertEquals(
      await findMismatches(b!, await buildManifest(a!)),
      [smallFilePath(7, 4)],
    );
    bytes[150] = bytes[150]! ^ 1;
    await Deno.writeFile(path, bytes);
    assert(await foldersIdentical(a!, b!), "identical again");

    await Deno.remove(path);
    assert(!(await foldersIdentical(a!, b!)), "missing file");
    assertEquals(
      await findMismatches(b!, await buildManifest(a!)),
      [smallFilePath(7, 4)],
    );
  });
});

/** Copies `src` into `dst` like rsync: temp name, rename, old folder times. */
async function copyLikeRsync(src: string, dst: string): Promise<void> {
  for (const path of (await buildManifest(src)).keys()) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    await Deno.mkdir(`${dst}/${dir}`, { recursive: true });
    const name = path.slice(path.lastIndexOf("/") + 1);
    const tmp = `${dst}/${dir}/.${name}.XyZ123`;
    await Deno.copyFile(`${src}/${path}`, tmp);
    await Deno.rename(tmp, `${dst}/${path}`);
    await Deno.utime(`${dst}/${dir}`, 1_000_000, 1_000_000);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("waitForIdentical() sees a folder fill up, or says what is missing", async () => {
  await withTempDirs(2, async (src, dst) => {
    await writeDataset(
      src!,
      { kind: "small", files: 30, size: 200, perDir: 7 },
      2,
    );
    const expected = await buildManifest(src!);
    const [outcome] = await Promise.all([
      waitForIdentical(dst!, expected, {
        deadline: performance.now() + 20_000,
        stallMs: 10_000,
        pollMs: 5,
      }),
      copyLikeRsync(src!, dst!),
    ]);
    assertEquals(outcome.kind, "done");

    await Deno.remove(`${dst}/${smallFilePath(9, 7)}`);
    const missing = await waitForIdentical(dst!, expected, {
      deadline: performance.now() + 200,
      stallMs: 10_000,
      pollMs: 5,
    });
    assertEquals(missing, {
      kind: "timeout",
      matched: 29,
      total: 30,
      firstBad: smallFilePath(9, 7),
    });
  });
});

Deno.test("summarizeLatency() gives median and nearest-rank p90", () => {
  assertEquals(summarizeLatency([5]), { count: 1, median: 5, p90: 5 });
  assertEquals(summarizeLatency([4, 1, 3, 2]), {
    count: 4,
    median: 2.5,
    p90: 4,
  });
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  assertEquals(summarizeLatency(twenty), { count: 20, median: 10.5, p90: 18 });
  assertThrows(() => summarizeLatency([]), RangeError);
});

const SELF = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA";
const PEER = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB";
const GENERATED = `<configuration version="36">
    <device id="${SELF}" name="vm" compression="metadata">
        <address>dynamic</address>
        <paused>false</paused>
    </device>
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:8384</address>
    </gui>
    <options>
        <listenAddress>default</listenAddress>
        <globalAnnounceEnabled>true</globalAnnounceEnabled>
        <localAnnounceEnabled>true</localAnnounceEnabled>
        <relaysEnabled>true</relaysEnabled>
        <natEnabled>true</natEnabled>
        <urAccepted>0</urAccepted>
        <crashReportingEnabled>true</crashReportingEnabled>
    </options>
    <defaults>
        <folder id="" label="" path="~" type="sendreceive" fsWatcherDelayS="10">
            <filesystemType>basic</filesystemType>
            <device id="${SELF}" introducedBy="">
                <encryptionPassword></encryptionPassword>
            </device>
            <markerName>.stfolder</markerName>
        </folder>
    </defaults>
</configuration>`;

Deno.test("syncthingConfig() shares one folder on loopback only", () => {
  assertEquals(deviceIdOf(GENERATED), SELF);
  const xml = syncthingConfig(GENERATED, {
    selfId: SELF,
    listen: "127.0.0.1:4001",
    peers: [{ id: PEER, address: "127.0.0.1:4002" }],
    folderId: "bench",
    folderPath: "/tmp/a&b",
  });
  assert(xml.includes("<listenAddress>tcp://127.0.0.1:4001</listenAddress>"));
  assert(xml.includes("<address>tcp://127.0.0.1:4002</address>"));
  for (
    const off of [
      "globalAnnounceEnabled",
      "localAnnounceEnabled",
      "relaysEnabled",
      "natEnabled",
      "crashReportingEnabled",
      "startBrowser",
    ]
  ) {
    assert(xml.includes(`<${off}>false</${off}>`), off);
  }
  assert(xml.includes("<urAccepted>-1</urAccepted>"));
  assert(xml.includes("<autoUpgradeIntervalH>0</autoUpgradeIntervalH>"));
  assert(xml.includes('<gui enabled="false"'));
  const folder = xml.match(/<folder id="bench"[\s\S]*?<\/folder>/)?.[0] ?? "";
  assert(folder.includes('path="/tmp/a&amp;b"'), folder);
  assert(folder.includes('fsWatcherDelayS="10"'), "keeps the defaults");
  assert(folder.includes(`<device id="${SELF}"`));
  assert(folder.includes(`<device id="${PEER}"`));
  assertEquals(xml.match(/<device id="/g)?.length, 5);
});

Deno.test("syncthingConfig() shares the folder with every peer at its address", () => {
  const OTHER = PEER.replaceAll("B", "C");
  const xml = syncthingConfig(GENERATED, {
    selfId: SELF,
    listen: "10.216.1.1:4001",
    peers: [
      { id: PEER, address: "10.216.1.2:4002" },
      { id: OTHER, address: "10.216.1.3:4003" },
    ],
    folderId: "bench",
    folderPath: "/tmp/f",
  });
  assert(xml.includes("<listenAddress>tcp://10.216.1.1:4001</listenAddress>"));
  assert(xml.includes("<address>tcp://10.216.1.2:4002</address>"));
  assert(xml.includes("<address>tcp://10.216.1.3:4003</address>"));
  const folder = xml.match(/<folder id="bench"[\s\S]*?<\/folder>/)?.[0] ?? "";
  for (const id of [SELF, PEER, OTHER]) {
    assert(folder.includes(`<device id="${id}"`), id);
  }
});

Deno.test("startTaskV8Flags() gives the benchmark the start task's V8 flags", async () => {
  const denoJson = await Deno.readTextFile(
    new URL("../../deno.json", import.meta.url),
  );
  const flags = startTaskV8Flags(denoJson);
  const start = (JSON.parse(denoJson) as { tasks: { start: string } }).tasks
    .start;
  for (const flag of flags) assert(start.includes(flag));
  assertEquals(
    flags.length,
    start.split(" ").filter((a) => a.startsWith("--v8-flags=")).length,
  );
  assertEquals(
    startTaskV8Flags(
      '{"tasks":{"start":"deno run --v8-flags=--a,--b -A main.ts"}}',
    ),
    ["--v8-flags=--a,--b"],
  );
  assertThrows(() => startTaskV8Flags('{"tasks":{}}'));
});

Deno.test("parseCli() takes --scratch only when it names a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(parseCli(["--scratch", dir]).scratchDir, dir);
    assertEquals(parseCli([]).scratchDir, undefined);
    assertThrows(() => parseCli(["--scratch", `${dir}/missing`]), RangeError);
    await Deno.writeTextFile(`${dir}/file`, "x");
    assertThrows(() => parseCli(["--scratch", `${dir}/file`]), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
