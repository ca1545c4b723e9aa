import { wirePathProblem } from "../../../src/protocol/wire_path.ts";
import {
  conflictName,
  splitExtension,
} from "../../../src/sync/apply/conflict_name.ts";
import { assert, assertEquals, assertThrows } from "../../assert.ts";

const WHEN = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const MARK = ".sync-conflict-20240102-030405-KZDV";

function bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

const ROWS: [string, string][] = [
  ["notes.txt", `notes${MARK}.txt`],
  ["archive.tar.gz", `archive.tar${MARK}.gz`],
  ["Makefile", `Makefile${MARK}`],
  [".bashrc", `.bashrc${MARK}`],
  ["..hidden", `..hidden${MARK}`],
  [".config.json", `.config${MARK}.json`],
  ["name.", `name.${MARK}`],
  ["dir/sub/report.pdf", `dir/sub/report${MARK}.pdf`],
  ["dir.d/README", `dir.d/README${MARK}`],
  ["späte Grüße.md", `späte Grüße${MARK}.md`],
  ["a.b.c.d", `a.b.c${MARK}.d`],
];

for (const [path, expected] of ROWS) {
  Deno.test(`conflictName() names ${JSON.stringify(path)}`, () => {
    assertEquals(conflictName(path, WHEN, "KZDV"), expected);
  });
}

Deno.test("conflictName() uses UTC and zero-pads", () => {
  const when = new Date(Date.UTC(1999, 11, 31, 23, 59, 9));
  assertEquals(
    conflictName("x.txt", when, "PEER-ID01"),
    "x.sync-conflict-19991231-235909-PEER-ID01.txt",
  );
});

Deno.test("splitExtension() splits on the last dot, not a leading or trailing one", () => {
  assertEquals(splitExtension("a.txt"), ["a", "txt"]);
  assertEquals(splitExtension(".bashrc"), [".bashrc", ""]);
  assertEquals(splitExtension("noext"), ["noext", ""]);
  assertEquals(splitExtension("trail."), ["trail.", ""]);
  assertEquals(splitExtension("..."), ["...", ""]);
});

Deno.test("conflictName() keeps the name within 255 bytes, truncating the stem on a UTF-8 boundary", () => {
  for (const unit of ["a", "é", "€", "😀"]) {
    // Names of 150 to 251 bytes (plus ".txt": at most 255).
    for (let target = 150; target <= 251; target += 3) {
      const stem = unit.repeat(Math.floor(target / bytes(unit)));
      const name = `${stem}.txt`;
      const out = conflictName(`d/${name}`, WHEN, "KZDV-VJ2U-MNDU");
      const base = out.slice(2);
      assert(bytes(base) <= 255, `${bytes(base)} bytes for ${unit}`);
      assert(base.endsWith("-KZDV-VJ2U-MNDU.txt"), base);
      assert(out.startsWith("d/"));
      assert(base.startsWith(unit), base);
      assertEquals(wirePathProblem(out), null);
      // No broken surrogate pair and no replacement character after a round trip.
      assertEquals(
        new TextDecoder().decode(new TextEncoder().encode(base)),
        base,
      );
    }
  }
});

Deno.test("conflictName() treats an extension too long to fit as part of the stem", () => {
  const name = `a.${"x".repeat(240)}`;
  const out = conflictName(name, WHEN, "KZDV");
  assert(bytes(out) <= 255);
  assert(out.endsWith("-KZDV"), out);
  assert(out.startsWith("a.xxx"), out);
});

Deno.test("conflictName() keeps the whole path within 4096 bytes", () => {
  const parent = Array.from({ length: 40 }, () => "d".repeat(100)).join("/");
  const path = `${parent}/${"n".repeat(50)}.txt`;
  assert(bytes(path) < 4096);
  const out = conflictName(path, WHEN, "KZDV");
  assert(bytes(out) <= 4096, `${bytes(out)}`);
  assert(out.startsWith(`${parent}/n`));
  assert(out.endsWith(`${MARK}.txt`));
  const tooDeep = Array.from({ length: 41 }, () => "d".repeat(99)).join("/");
  assertThrows(
    () => conflictName(`${tooDeep}/f`, WHEN, "KZDV"),
    RangeError,
    "too long",
  );
});

Deno.test("conflictName() refuses unusable input", () => {
  assertThrows(() => conflictName("", WHEN, "KZDV"), RangeError);
  assertThrows(() => conflictName("a/", WHEN, "KZDV"), RangeError);
  assertThrows(() => conflictName("a", new Date(NaN), "KZDV"), RangeError);
  for (const peer of ["", "a/b", "a.b", "x".repeat(65), "é", "a b"]) {
    assertThrows(() => conflictName("a", WHEN, peer), RangeError, "peer id");
  }
});
