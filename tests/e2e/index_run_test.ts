import { assert, assertEquals, assertMatch } from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv } from "./_dsync.ts";
import { blake3, digestBytes, IndexStore, toHex } from "../../src/index/mod.ts";

Deno.test("dsync -d DIR indexes the folder, keeps running and exits 0 on SIGTERM and SIGINT", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-run-" });
  const folder = `${root}/shared`;
  try {
    await Deno.mkdir(`${folder}/docs/deep`, { recursive: true });
    await Deno.writeTextFile(`${folder}/readme.txt`, "hello\n");
    const big = new Uint8Array(700_000).map((_, i) => (i * 7919) % 251);
    await Deno.writeFile(`${folder}/docs/deep/data.bin`, big);
    await Deno.writeTextFile(`${folder}/skip.tmp`, "temporary");
    await Deno.mkdir(`${folder}/node_modules/pkg`, { recursive: true });
    await Deno.writeTextFile(`${folder}/node_modules/pkg/index.js`, "x");
    await Deno.writeTextFile(`${folder}/notes.log`, "excluded by -e");

    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const node = new DsyncProcess(
        [
          "-d",
          folder,
          "--no-discovery",
          "-p",
          String(freePort()),
          "-e",
          "*.log",
        ],
        { env: isolatedEnv(root) },
      );
      const summary = await node.waitForOutput(/Indexed .*\n/);
      assertMatch(summary[0], /Indexed 2 files, 2 folders \(700 KB\)/);
      // The first run hashes both files; the second finds nothing changed.
      assertEquals(
        summary[0].includes("hashed 2 changed files"),
        signal === "SIGTERM",
      );
      // Still running after the summary: it keeps the folder indexed.
      assertEquals(await node.stop(signal), 0, node.output);
      assert(!node.output.includes("    at "), node.output);
    }

    // One Ctrl-C under `deno task` arrives twice (terminal and parent): still
    // a clean stop, not a forced one.
    const twice = new DsyncProcess(
      ["-d", folder, "--no-discovery", "-p", String(freePort()), "-e", "*.log"],
      { env: isolatedEnv(root) },
    );
    await twice.waitForOutput(/Indexed .*\n/);
    twice.kill("SIGINT");
    assertEquals(await twice.stop("SIGINT"), 0, twice.output);
    assert(twice.output.includes("Stopping"), twice.output);

    // The first run created the ignore file and never overwrites it.
    const ignoreText = await Deno.readTextFile(`${folder}/.dsyncignore`);
    for (
      const pattern of [".git", "node_modules", ".DS_Store", "*.tmp", "*.part"]
    ) {
      assert(ignoreText.split("\n").includes(pattern), pattern);
    }

    // The index on disk is consistent and holds what the folder holds.
    const store = IndexStore.open(folder);
    try {
      const record = store.get("docs/deep/data.bin");
      assertEquals(record?.size, big.length);
      assertEquals(toHex(record!.hash), toHex(digestBytes(big).hash));
      for (const c of record!.chunks) {
        assertEquals(
          c.hash,
          blake3(big.subarray(c.offset, c.offset + c.length)),
        );
      }
      assertEquals(store.get("readme.txt")?.kind, "file");
      assertEquals(store.get("docs")?.kind, "dir");
      assertEquals(store.get("skip.tmp"), undefined);
      assertEquals(store.get("notes.log"), undefined);
      assertEquals(store.get("node_modules"), undefined);
      assertEquals(store.get(".dsyncignore"), undefined);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
