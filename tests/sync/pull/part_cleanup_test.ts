import {
  PART_FILE_PATTERN,
  partName,
  partTargetName,
} from "../../../src/sync/apply/part_name.ts";
import {
  LeftoverParts,
  removeLeftoverParts,
  removeStrayPart,
} from "../../../src/sync/pull/part_cleanup.ts";
import {
  registerPart,
  releasePart,
} from "../../../src/sync/apply/part_registry.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import { IgnoreRules } from "../../../src/index/ignore_rules.ts";
import { Scanner } from "../../../src/index/scanner.ts";
import { IndexStore } from "../../../src/index/store.ts";
import { assert, assertEquals } from "../../assert.ts";
import { waitFor } from "../../_wait.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

const IS_WINDOWS = Deno.build.os === "windows";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("removeLeftoverParts() removes only dsync's .part files, without following links", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-cleanup-" });
  const folder = `${root}/folder`;
  const outside = `${root}/outside`;
  try {
    await Deno.mkdir(`${folder}/a/b`, { recursive: true });
    await Deno.mkdir(`${folder}/.dsync`);
    await Deno.mkdir(`${folder}/skipped`);
    await Deno.mkdir(outside);
    const p1 = partName("top.txt");
    const p2 = partName("deep.bin");
    const inState = partName("index.db");
    const inSkipped = partName("s");
    const outsidePart = partName("o");
    await Deno.writeTextFile(`${folder}/${p1}`, "x");
    await Deno.writeTextFile(`${folder}/a/b/${p2}`, "x");
    await Deno.writeTextFile(`${folder}/movie.part`, "user's own");
    await Deno.writeTextFile(`${folder}/a/notes.txt`, "keep");
    await Deno.writeTextFile(`${folder}/.dsync/${inState}`, "x");
    await Deno.writeTextFile(`${folder}/skipped/${inSkipped}`, "x");
    await Deno.writeTextFile(`${outside}/${outsidePart}`, "x");
    const expected = [p1, `a/b/${p2}`];
    if (!IS_WINDOWS) {
      await Deno.symlink(outside, `${folder}/link`);
      const linkPart = partName("l");
      await Deno.symlink("anywhere", `${folder}/a/${linkPart}`);
      expected.push(`a/${linkPart}`);
    }
    const removed = await removeLeftoverParts(folder, {
      skipDir: (rel) => rel === "skipped",
    });
    assertEquals(removed.sort(), expected.sort());
    assertEquals(await names(`${folder}/a/b`), []);
    assertEquals(await names(`${folder}/a`), ["b", "notes.txt"]);
    assertEquals(await names(`${folder}/.dsync`), [inState]);
    assertEquals(await names(`${folder}/skipped`), [inSkipped]);
    assertEquals(await names(outside), [outsidePart]);
    assertEquals(await Deno.readTextFile(`${folder}/movie.part`), "user's own");
    assertEquals(await removeLeftoverParts(folder), [`skipped/${inSkipped}`]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("partTargetName() reads back the target of partName(), unless cut", () => {
  assertEquals(partTargetName(partName("movie.mkv")), "movie.mkv");
  assertEquals(partTargetName(partName(".hidden")), ".hidden");
  assertEquals(partTargetName(partName("x".repeat(300))), undefined);
  assertEquals(partTargetName("movie.part"), undefined);
});

Deno.test("partName() gives every call another tag and fits any name in 255 bytes", () => {
  const enc = new TextEncoder();
  const names = new Set<string>();
  // Past a refill of the tag pool (512 tags).
  for (let i = 0; i < 1500; i++) names.add(partName("f.txt"));
  assertEquals(names.size, 1500);
  for (const name of names) assert(PART_FILE_PATTERN.test(name));
  for (const long of ["x".repeat(300), "é".repeat(200), "😀".repeat(100)]) {
    const part = partName(long);
    assert(enc.encode(part).length <= 255, `${part.length}`);
    assert(PART_FILE_PATTERN.test(part));
  }
  // Short names are kept whole, whatever their characters.
  assertEquals(partTargetName(partName("é".repeat(70))), "é".repeat(70));
});

Deno.test("LeftoverParts.gather() keeps the biggest .part per target and removes the rest", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-leftover-" });
  try {
    await Deno.mkdir(`${folder}/d`);
    const small = partName("big.bin");
    const large = partName("big.bin");
    const empty = partName("e.bin");
    const cut = partName("y".repeat(300));
    await Deno.writeFile(`${folder}/d/${small}`, new Uint8Array(10));
    await Deno.writeFile(`${folder}/d/${large}`, new Uint8Array(20));
    await Deno.writeFile(`${folder}/${empty}`, new Uint8Array(0));
    await Deno.writeFile(`${folder}/${cut}`, new Uint8Array(5));
    let now = 1000;
    const parts = await LeftoverParts.gather(folder, {
      now: () => now,
      maxAgeMs: 500,
    });
    assertEquals(parts.size, 1);
    assertEquals(await names(folder), ["d"]);
    assertEquals(await names(`${folder}/d`), [large]);
    assertEquals(parts.take("d/big.bin"), {
      os: `${folder}/d/${large}`,
      size: 20,
    });
    assertEquals(parts.take("d/big.bin"), undefined);
    // Parked again, then expired unused: removed from disk.
    await parts.park("d/big.bin", `${folder}/d/${large}`, 20);
    now += 400;
    await parts.expire();
    assertEquals(parts.size, 1);
    now += 200;
    await parts.expire();
    assertEquals(parts.size, 0);
    assertEquals(await names(`${folder}/d`), []);
    // Parking a second part for a target removes the first; discard removes it.
    const p1 = `${folder}/d/${partName("x")}`;
    const p2 = `${folder}/d/${partName("x")}`;
    await Deno.writeFile(p1, new Uint8Array(1));
    await Deno.writeFile(p2, new Uint8Array(1));
    await parts.park("d/x", p1, 1);
    await parts.park("d/x", p2, 1);
    assertEquals(await names(`${folder}/d`), [p2.split("/").pop()!]);
    await parts.discard("d/x");
    assertEquals(await names(`${folder}/d`), []);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("LeftoverParts.discardAll() removes every kept .part, and only those", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-leftover-" });
  try {
    const a = partName("a.txt");
    const b = partName("b.txt");
    await Deno.writeFile(`${folder}/${a}`, new Uint8Array(3));
    await Deno.writeFile(`${folder}/${b}`, new Uint8Array(4));
    await Deno.writeFile(`${folder}/a.txt`, new Uint8Array(3));
    const parts = await LeftoverParts.gather(folder);
    assertEquals(parts.size, 2);
    assertEquals(await parts.discardAll(), 2);
    assertEquals(parts.size, 0);
    assertEquals(await names(folder), ["a.txt"]);
    assertEquals(await parts.discardAll(), 0);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("removeStrayPart() removes a .part nobody writes or keeps, after a grace time, and nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync_stray_" });
  try {
    const stray = `${dir}/.moved.txt.dsync-0123456789abcdef.part`;
    const active = `${dir}/.live.txt.dsync-fedcba9876543210.part`;
    await Deno.writeTextFile(stray, "left behind");
    await Deno.writeTextFile(active, "being written");
    registerPart(active);
    removeStrayPart(stray);
    removeStrayPart(active);
    await waitFor(
      async () => !(await exists(stray)),
      "the stray .part to go",
      15_000,
      100,
    );
    assert(await exists(active), "a .part being written stays");
    releasePart(active);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Scanner tells of the dsync .part files it lists, and indexes none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync_stray_" });
  const store = IndexStore.open(dir);
  try {
    await Deno.mkdir(`${dir}/moved`);
    await Deno.writeTextFile(
      `${dir}/moved/.a.txt.dsync-0123456789abcdef.part`,
      "x",
    );
    await Deno.writeTextFile(`${dir}/moved/other.part`, "not ours");
    await Deno.writeTextFile(`${dir}/moved/kept.txt`, "kept");
    const seen: string[] = [];
    const scanner = new Scanner({
      folder: dir,
      store,
      ignore: await IgnoreRules.load(dir),
      hasher: {
        hashFile: (p) => Promise.resolve(digestBytes(Deno.readFileSync(p))),
      },
      onPartFile: (os) => seen.push(os),
    });
    await scanner.scanPaths(["moved"]);
    assertEquals(seen, [`${dir}/moved/.a.txt.dsync-0123456789abcdef.part`]);
    assertEquals(
      store.get("moved/.a.txt.dsync-0123456789abcdef.part"),
      undefined,
    );
    assert(store.get("moved/kept.txt") !== undefined);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
