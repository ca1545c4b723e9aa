/** The change feed: who changed what, conflict copies, and the log lines of a burst. */
import { assertEquals } from "../assert.ts";
import {
  type Change,
  ChangeFeed,
  changeOf,
  conflictOriginal,
  describeBurst,
  PAGES_PER_POLL,
} from "../../src/node/change_feed.ts";
import { type FileRecord, IndexStore } from "../../src/index/mod.ts";

function record(
  path: string,
  overrides: Partial<FileRecord> = {},
): FileRecord {
  return {
    path,
    kind: "file",
    size: 12_000,
    mtimeNs: 1n,
    exec: false,
    hash: new Uint8Array(32),
    chunks: [{ offset: 0, length: 12_000, hash: new Uint8Array(32) }],
    version: [{ replica: 7n, counter: 1 }],
    deleted: false,
    sequence: 0,
    ...overrides,
  };
}

function change(path: string, overrides: Partial<Change> = {}): Change {
  return {
    time: 0,
    path,
    device: "beta",
    action: "updated",
    kind: "file",
    size: 12_000,
    ...overrides,
  };
}

Deno.test("conflictOriginal() names the file a conflict copy lost to, and nothing else", () => {
  const table: [string, string | undefined][] = [
    ["a/plan.sync-conflict-20261207-031100-8B3BFF48.md", "a/plan.md"],
    ["Makefile.sync-conflict-20261207-031100-AB12CD34", "Makefile"],
    ["a/plan.md", undefined],
    ["a.sync-conflict-x/b.txt", undefined],
  ];
  for (const [path, original] of table) {
    assertEquals(conflictOriginal(path), original, path);
  }
});

Deno.test("changeOf() tells added, updated and deleted apart", () => {
  assertEquals(changeOf(record("a"), "here", 5).action, "added");
  assertEquals(
    changeOf(
      record("a", {
        version: [{ replica: 7n, counter: 1 }, { replica: 9n, counter: 1 }],
      }),
      "beta",
      5,
    ),
    {
      time: 5,
      path: "a",
      device: "beta",
      action: "updated",
      kind: "file",
      size: 12_000,
    },
  );
  const gone = changeOf(record("a", { deleted: true, size: 0 }), "beta", 5);
  assertEquals([gone.action, gone.size], ["deleted", 0]);
});

Deno.test("describeBurst() logs few changes one by one and many as one summary per device", () => {
  assertEquals(
    describeBurst([
      change("notes/plan.md"),
      change("old.txt", { action: "deleted", size: 0 }),
      change("photos", { kind: "dir", action: "added", size: 0 }),
    ], 100),
    [
      "beta: updated notes/plan.md (12.0 KB)",
      "beta: deleted old.txt",
      "beta: added folder photos",
    ],
  );
  const many = Array.from(
    { length: 533 },
    (_, k) => change(`f${k}`, { size: 394_000 }),
  );
  assertEquals(
    describeBurst([...many, change("mine.txt", { device: "here" })], 4_100),
    [
      "beta: 533 changes received, 210 MB, 4.1 s",
      "here: updated mine.txt (12.0 KB)",
    ],
  );
});

Deno.test("ChangeFeed reads the index from where it was, names the peer of applied paths, and keeps conflict copies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-feed-" });
  const store = IndexStore.open(dir);
  try {
    store.put(record("old.txt"));
    store.put(record("x.sync-conflict-20261207-031100-AB12CD34.txt"));
    const lines: string[] = [];
    let now = 1_000;
    const asked: string[][] = [];
    const feed = new ChangeFeed({
      store,
      devicesOf: (records) => {
        asked.push(records.map((r) => r.path));
        return new Map(
          records.filter((r) => r.path !== "unknown.txt").map((
            r,
          ) => [r.path, "beta"]),
        );
      },
      log: (line) => lines.push(line),
      now: () => now,
    });
    // What the index held at start is history.
    assertEquals(feed.poll(), []);
    assertEquals(feed.conflicts, [{
      path: "x.sync-conflict-20261207-031100-AB12CD34.txt",
      original: "x.txt",
    }]);

    feed.applied("from-beta.txt");
    store.put(record("from-beta.txt"));
    store.put(record("mine.txt"));
    // A merged version equals no peer's record: named when it was stored.
    feed.applied("merged.txt", "gamma");
    store.put(record("merged.txt"));
    // Announced by no connected peer (it left meanwhile).
    feed.applied("unknown.txt");
    store.put(record("unknown.txt"));
    const fresh = feed.poll();
    assertEquals(fresh.map((c) => [c.path, c.device, c.time]), [
      ["from-beta.txt", "beta", 1_000],
      ["mine.txt", "here", 1_000],
      ["merged.txt", "gamma", 1_000],
      ["unknown.txt", "a peer", 1_000],
    ]);
    // One lookup for the page, of the applied paths not named already.
    assertEquals(asked, [["from-beta.txt", "unknown.txt"]]);
    assertEquals(lines, []); // the burst is still going on
    now += 600;
    feed.poll();
    assertEquals(lines, [
      "beta: added from-beta.txt (12.0 KB)",
      "here: added mine.txt (12.0 KB)",
      "gamma: added merged.txt (12.0 KB)",
      "a peer: added unknown.txt (12.0 KB)",
    ]);
    store.put(
      record("x.sync-conflict-20261207-031100-AB12CD34.txt", {
        deleted: true,
        size: 0,
      }),
    );
    feed.poll();
    assertEquals(feed.conflicts, []);
    assertEquals(feed.recent.length, 5);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ChangeFeed gives a folder added here to the peer whose file in it came within seconds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-feed-" });
  const store = IndexStore.open(dir);
  const folder = (path: string) =>
    record(path, { kind: "dir", size: 0, hash: new Uint8Array(), chunks: [] });
  try {
    let now = 1_000;
    const feed = new ChangeFeed({
      store,
      devicesOf: (records) => new Map(records.map((r) => [r.path, "beta"])),
      log: () => {},
      now: () => now,
    });
    // The scanner records the folders a pull made before the file lands.
    store.put(folder("new"));
    store.put(folder("new/deep"));
    store.put(folder("mine"));
    feed.poll();
    now += 250;
    feed.applied("new/deep/f.txt");
    store.put(record("new/deep/f.txt"));
    feed.poll();
    // And the other way round: the file first, its folder after.
    feed.applied("late/g.txt");
    store.put(record("late/g.txt"));
    feed.poll();
    now += 250;
    store.put(folder("late"));
    feed.poll();
    // Long after, a folder of the user's own is not claimed.
    now += 60_000;
    store.put(folder("new/later"));
    feed.poll();
    feed.applied("new/later/h.txt");
    now += 11_000;
    store.put(record("new/later/h.txt"));
    feed.poll();
    assertEquals(feed.recent.map((c) => [c.path, c.device]), [
      ["new", "beta"],
      ["new/deep", "beta"],
      ["mine", "here"],
      ["new/deep/f.txt", "beta"],
      ["late/g.txt", "beta"],
      ["late", "beta"],
      ["new/later", "here"],
      ["new/later/h.txt", "beta"],
    ]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ChangeFeed reads a large burst in pages per poll and logs it as one summary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsync-feed-" });
  const store = IndexStore.open(dir);
  try {
    let now = 1_000;
    const lines: string[] = [];
    const feed = new ChangeFeed({
      store,
      devicesOf: () => new Map(),
      log: (line) => lines.push(line),
      now: () => now,
    });
    const total = PAGES_PER_POLL * 1000 * 2 + 500;
    store.putMany(
      Array.from(
        { length: total },
        (_, i) => record(`d${i % 100}/f${i}`, { size: 1_000 }),
      ),
    );
    const sizes: number[] = [];
    for (;;) {
      const fresh = feed.poll();
      if (fresh.length === 0) break;
      sizes.push(fresh.length);
      now += 100;
    }
    assertEquals(sizes, [PAGES_PER_POLL * 1000, PAGES_PER_POLL * 1000, 500]);
    assertEquals(feed.recent.length, 200);
    assertEquals(
      feed.recent.at(-1)!.path,
      `d${(total - 1) % 100}/f${total - 1}`,
    );
    now += 600;
    feed.poll();
    assertEquals(lines, ["here: 20,500 changes changed, 20.5 MB, 200 ms"]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
