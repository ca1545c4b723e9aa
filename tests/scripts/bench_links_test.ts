import { assert, assertEquals, assertThrows } from "../assert.ts";
import { benchLinks, describePlan } from "../../scripts/bench_links.ts";
import {
  type Cell,
  formatTable,
  LinksUsageError,
  type MeasuredRow,
  parseLinksArgs,
  type Setting,
  verdict,
  workloads,
} from "../../scripts/bench_sync/links_plan.ts";
import {
  measureLink,
  median,
  parseBlastReport,
} from "../../scripts/bench_sync/link_blast.ts";
import {
  namespacesWithPrefix,
  Netlab,
  rateBits,
  tbfParams,
  whyNoNetlab,
} from "../../scripts/bench_sync/netlab.ts";

const noNetlab = await whyNoNetlab();

Deno.test("parseLinksArgs() reads the flags of the links mode", async (t) => {
  const cases: [string[], Partial<ReturnType<typeof parseLinksArgs>>][] = [
    [[], {
      modes: ["loopback", "link", "mesh"],
      rates: ["1gbit", "100mbit"],
      meshRate: "100mbit",
      devices: 6,
      scale: 1,
      dryRun: false,
      timeoutMs: 300_000,
    }],
    [["--modes", "link,mesh", "--rates", "100mbit"], {
      modes: ["link", "mesh"],
      rates: ["100mbit"],
    }],
    [["--quick"], { scale: 1 / 64, timeoutMs: 60_000, stallMs: 20_000 }],
    [["--scale", "0.25", "--devices", "3"], { scale: 0.25, devices: 3 }],
    [["--only", "big,delta", "--tools", "dsync,syncthing"], {
      only: ["big", "delta"],
      tools: ["dsync", "syncthing"],
    }],
    [["--dry-run", "--timeout", "10", "--stall", "5"], {
      dryRun: true,
      timeoutMs: 10_000,
      stallMs: 5_000,
    }],
  ];
  for (const [argv, want] of cases) {
    await t.step(argv.join(" ") || "(none)", () => {
      const got = parseLinksArgs(argv);
      for (const [key, value] of Object.entries(want)) {
        assertEquals(got[key as keyof typeof got], value, key);
      }
    });
  }
});

Deno.test("parseLinksArgs() refuses bad flags with a usage error", () => {
  const bad = [
    ["--modes", "wan"],
    ["--rates", "fast"],
    ["--rates", "0mbit"],
    ["--mesh-rate", "10mb"],
    ["--devices", "1"],
    ["--devices", "2.5"],
    ["--scale", "2"],
    ["--scale", "-1"],
    ["--quick", "--scale", "0.5"],
    ["--only", "huge"],
    ["--tools", "unison"],
    ["--timeout", "soon"],
    ["--frobnicate"],
    ["--only", ","],
  ];
  for (const argv of bad) {
    assertThrows(() => parseLinksArgs(argv), LinksUsageError, undefined);
  }
});

Deno.test("workloads() scale sizes and counts, keeping the change inside the file", () => {
  const full = workloads(["big", "text", "small", "delta"], 1);
  assertEquals(full.map((w) => w.label), [
    "1 GiB random / 4 files",
    "1 GiB text / 64 files",
    "20,000 × 4 KiB files",
    "1 MiB changed in 256 MiB",
  ]);
  const quick = workloads(["small", "delta"], 1 / 64);
  assertEquals(quick[0]!.spec.files, 313);
  const delta = quick[1]!;
  assertEquals(delta.change!.length, 16 * 1024);
  assert(
    delta.change!.offset + delta.change!.length <= delta.spec.size,
    "change inside the file",
  );
  const tiny = workloads(["big", "small"], 1e-9);
  assertEquals(tiny[0]!.spec.size, 64 * 1024);
  assertEquals(tiny[1]!.spec.files, 20);
});

Deno.test("rateBits() and tbfParams() shape the link for the rate", () => {
  assertEquals(rateBits("100mbit"), 1e8);
  assertEquals(rateBits("1gbit"), 1e9);
  assertEquals(rateBits("2.5gbit"), 2.5e9);
  for (const bad of ["1g", "mbit", "0gbit", "-1mbit", "1 gbit"]) {
    assertThrows(() => rateBits(bad), RangeError);
  }
  const slow = tbfParams("100mbit");
  assertEquals(slow.slice(0, 3), ["tbf", "rate", "100mbit"]);
  assertEquals(Number(slow[4]), 128 * 1024, "at least one GSO packet");
  const fast = tbfParams("1gbit");
  assertEquals(Number(fast[4]), 1_250_000, "a 100 Hz tick at 1 Gbit/s");
  assert(Number(fast[6]) >= Number(fast[4]) * 2);
});

Deno.test("parseBlastReport() and median() read the blast", () => {
  assertEquals(parseBlastReport('{"bytes":10,"seconds":0.5}\n'), {
    bytes: 10,
    seconds: 0.5,
  });
  for (const bad of ["", "nope", '{"bytes":0,"seconds":1}', '{"bytes":1}']) {
    assertThrows(() => parseBlastReport(bad));
  }
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 2, 3]), 2.5);
  assertThrows(() => median([]), RangeError);
});

function row(
  workload: MeasuredRow["workload"],
  setting: Setting,
  cells: Record<string, Cell>,
  extra: Partial<MeasuredRow> = {},
): MeasuredRow {
  return {
    workload,
    label: workload,
    setting,
    cells: new Map(Object.entries(cells)),
    scale: 1,
    ...extra,
  };
}

const LOOP: Setting = { kind: "loopback" };
const GBIT: Setting = { kind: "link", rate: "1gbit" };
const MESH: Setting = { kind: "mesh", rate: "100mbit", devices: 6 };
const s = (seconds: number | null, more: Partial<Cell> = {}): Cell => ({
  seconds,
  note: seconds === null ? "timeout (1/4)" : "done",
  ...more,
});

Deno.test("verdict() applies the issue's targets per workload and setting", () => {
  const cases: [MeasuredRow, (boolean | null)[]][] = [
    [row("big", LOOP, { dsync: s(8), syncthing: s(10) }), [true]],
    [row("big", LOOP, { dsync: s(9), syncthing: s(10) }), [false]],
    [row("text", LOOP, { dsync: s(9) }), [null]],
    [
      row("small", LOOP, {
        dsync: s(2, { peakRss: 150e6 }),
        syncthing: s(10),
      }),
      [true, true],
    ],
    [
      row("small", LOOP, {
        dsync: s(2, { peakRss: 250e6 }),
        syncthing: s(10),
      }),
      [true, false],
    ],
    [row("latency", LOOP, { dsync: s(0.1) }), [true]],
    [row("latency", LOOP, { dsync: s(0.2) }), [false]],
    [row("big", GBIT, { dsync: s(10.9) }, { linkSeconds: 10 }), [true]],
    [row("big", GBIT, { dsync: s(11.1) }, { linkSeconds: 10 }), [false]],
    [row("text", GBIT, { dsync: s(9.9) }, { linkSeconds: 10 }), [true]],
    [row("text", GBIT, { dsync: s(10) }, { linkSeconds: 10 }), [false]],
    [row("text", GBIT, { dsync: s(null) }, { linkSeconds: 10 }), [null]],
    [
      row("delta", GBIT, {
        dsync: s(1, { wireBytes: 1.1e6 }),
        syncthing: s(2),
      }),
      [true, true],
    ],
    [
      row("delta", GBIT, {
        dsync: s(1, { wireBytes: 1.3e6 }),
        syncthing: s(2),
      }),
      [true, false],
    ],
    [row("small", GBIT, { dsync: s(1) }), []],
    [
      row("mesh", MESH, { dsync: s(30), syncthing: s(40) }, {
        linkSeconds: 21,
      }),
      [true, true],
    ],
    [
      row("mesh", MESH, { dsync: s(40), syncthing: s(35) }, {
        linkSeconds: 21,
      }),
      [false, false],
    ],
  ];
  for (const [r, want] of cases) {
    assertEquals(
      verdict(r).map((v) => v.pass),
      want,
      `${r.workload} ${r.setting.kind}`,
    );
  }
});

Deno.test("formatTable() puts settings, ratio, target and verdict on each line", () => {
  const lines = formatTable([
    row("big", LOOP, { dsync: s(8), syncthing: s(10) }),
    row("big", GBIT, {
      dsync: s(12, { wireBytes: 1.08e9 }),
      syncthing: s(null),
    }, { linkSeconds: 10, linkRate: 117e6 }),
    row("small", LOOP, { dsync: s(2, { peakRss: 150e6 }) }),
  ], ["dsync", "syncthing"]);
  assertEquals(lines.length, 5);
  assert(lines[0]!.startsWith("workload"));
  assert(lines[2]!.includes("loopback") && lines[2]!.includes("0.80x"));
  assert(lines[2]!.endsWith("PASS"), lines[2]);
  assert(lines[3]!.includes("link 1gbit") && lines[3]!.includes("1080 MB"));
  assert(lines[3]!.includes("timeout (1/4)"));
  assert(lines[3]!.includes("10.00 s") && lines[3]!.endsWith("FAIL"));
  assert(lines[3]!.includes("(936 Mbit/s measured)"), lines[3]);
  assert(lines[4]!.includes("2.00 s, RSS 150 MB"), lines[4]);
});

Deno.test("describePlan() lists what a run would measure, without running it", () => {
  const plan = describePlan(parseLinksArgs(["--quick", "--rates", "1gbit"]));
  assert(plan.some((l) => l.includes("loopback, link 1gbit")), plan.join());
  assert(plan.some((l) => l.includes("mesh 6 × 100mbit")), plan.join());
  const linkOnly = describePlan(
    parseLinksArgs(["--modes", "link", "--only", "big"]),
  );
  assertEquals(linkOnly.length, 2, linkOnly.join("\n"));
});

Deno.test({
  name: "Netlab builds shaped namespaces and removes all of them",
  ignore: noNetlab !== null,
  async fn() {
    const work = await Deno.makeTempDir();
    let prefixes: string[] = [];
    try {
      await using pair = await Netlab.pair("100mbit");
      await using star = await Netlab.star(3, "100mbit");
      prefixes = [pair.prefix, star.prefix];
      assertEquals((await namespacesWithPrefix(pair.prefix)).length, 2);
      assertEquals((await namespacesWithPrefix(star.prefix)).length, 4);
      for (const host of [...pair.hosts, ...star.hosts]) {
        const out = await new Deno.Command("tc", {
          args: ["-n", host.ns, "qdisc", "show", "dev", host.dev],
          stdout: "piped",
        }).output();
        assert(new TextDecoder().decode(out.stdout).includes("tbf"), host.ns);
      }
      const before = await pair.sentBytes();
      const rate = await measureLink(
        pair.hosts[0]!,
        pair.hosts[1]!,
        2_000_000,
        1,
        work,
      );
      assert(rate > 0 && rate < 1.5 * 100e6 / 8, `shaped: ${rate} B/s`);
      assert((await pair.sentBytes()) - before >= 2_000_000);
      const across = await measureLink(
        star.hosts[1]!,
        star.hosts[2]!,
        500_000,
        1,
        work,
      );
      assert(across > 0, "hosts on the bridge reach each other");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
    for (const prefix of prefixes) {
      assertEquals(await namespacesWithPrefix(prefix), []);
    }
  },
});

Deno.test({
  name: "bench links --quick runs dsync over a shaped pair and cleans up",
  ignore: noNetlab !== null,
  async fn() {
    const before = await namespacesWithPrefix("dsb-");
    const report = await benchLinks(
      parseLinksArgs([
        "--modes",
        "link",
        "--rates",
        "100mbit",
        "--only",
        "big",
        "--tools",
        "dsync",
        "--scale",
        "0.001",
        "--timeout",
        "90",
      ]),
      () => {},
    );
    assertEquals(report.skips, []);
    assertEquals(report.rows.length, 1);
    const r = report.rows[0]!;
    const cell = r.cells.get("dsync")!;
    assert(cell.seconds !== null, cell.note);
    assert(cell.wireBytes! >= 4 * 64 * 1024, `${cell.wireBytes} on the wire`);
    assert(r.linkSeconds! > 0);
    assertEquals(await namespacesWithPrefix("dsb-"), before);
  },
});
