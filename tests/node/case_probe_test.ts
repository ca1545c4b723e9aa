/** The case probe of a folder whose `.dsync/` is elsewhere (`--state-dir`). */
import { assert, assertEquals } from "../assert.ts";
import {
  caseVariant,
  foldsCase,
  probeCase,
} from "../../src/node/case_probe.ts";

Deno.test("caseVariant() swaps the case of every ASCII letter, or says there is none", () => {
  const table: [string, string | undefined][] = [
    ["Notes.txt", "nOTES.TXT"],
    ["a", "A"],
    ["ÉTÉ", "ÉtÉ"], // not every file system folds É
    ["éé", undefined],
    ["2024", undefined],
    ["..", undefined],
    ["straße", "STRAßE"],
  ];
  for (const [name, want] of table) assertEquals(caseVariant(name), want, name);
});

Deno.test("foldsCase() is true only when the swapped name finds the same entry", () => {
  const a = { dev: 1, ino: 10 };
  assertEquals(foldsCase(a, "missing"), false);
  assertEquals(foldsCase(a, { dev: 1, ino: 10 }), true);
  assertEquals(foldsCase(a, { dev: 1, ino: 11 }), false); // two files
  assertEquals(foldsCase(a, { dev: 2, ino: 10 }), false);
  // No inodes (Windows): an entry found under the other spelling is it.
  assertEquals(
    foldsCase({ dev: null, ino: null }, { dev: null, ino: null }),
    true,
  );
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-case-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const refuseWrites = (path: string) =>
  Promise.reject(new Error(`Read-only file system: ${path}`));

Deno.test("probeCase() looks up an existing entry in swapped case and writes nothing", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/2024/Docs`, { recursive: true });
    await Deno.writeTextFile(`${dir}/2024/Docs/a.txt`, "a");
    const probe = await probeCase(dir, { write: refuseWrites });
    assertEquals(probe.how, "stat");
    assertEquals(probe.detail, "looked up 2024/Docs as 2024/dOCS");
    // Linux file systems in tests fold no case.
    if (Deno.build.os === "linux") assertEquals(probe.caseInsensitive, false);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names, ["2024"]);
  });
});

Deno.test("probeCase() finds two spellings as two files: case-sensitive", async () => {
  if (Deno.build.os !== "linux") return;
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/x`, "lower");
    await Deno.writeTextFile(`${dir}/X`, "upper");
    const probe = await probeCase(dir, { write: refuseWrites });
    assertEquals([probe.how, probe.caseInsensitive], ["stat", false]);
  });
});

Deno.test("probeCase() writes a probe file only in a folder without a name with letters, and removes it", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/.dsyncignore`, "");
    await Deno.writeTextFile(`${dir}/123`, "");
    const probe = await probeCase(dir, {
      skip: (rel) => rel === ".dsyncignore",
    });
    assertEquals(probe.how, "write");
    if (Deno.build.os === "linux") assertEquals(probe.caseInsensitive, false);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), [".dsyncignore", "123"]);
  });
});

Deno.test("probeCase() skips a read-only folder without a name with letters, with the reason", async () => {
  await withDir(async (dir) => {
    for (const platformDefault of [false, true]) {
      const probe = await probeCase(dir, {
        write: refuseWrites,
        platformDefault,
      });
      assertEquals([probe.how, probe.caseInsensitive], [
        "skipped",
        platformDefault,
      ]);
      assert(
        /no name with letters and cannot be written \(Read-only file system/
          .test(probe.detail),
        probe.detail,
      );
    }
  });
});
