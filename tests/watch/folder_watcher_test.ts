import type { RescanBatch } from "../../src/watch/coalescer.ts";
import {
  FolderWatcher,
  type FolderWatcherOptions,
} from "../../src/watch/folder_watcher.ts";
import type { EventSource } from "../../src/watch/event_source.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { waitFor } from "../_wait.ts";

/** True when `path` is `root` itself or lies below it. */
function covers(root: string, path: string): boolean {
  return root === "" || path === root || path.startsWith(`${root}/`);
}

class Recorder {
  readonly batches: RescanBatch[] = [];
  /** True when some batch reported `path` or a directory above it. */
  saw(path: string): boolean {
    return this.batches.some((b) =>
      b === "full" || b.some((root) => covers(root, path))
    );
  }
  /** True when some batch named `path` or something below it. */
  named(path: string): boolean {
    return this.batches.some((b) =>
      b !== "full" && b.some((p) => covers(path, p))
    );
  }
  get fulls(): number {
    return this.batches.filter((b) => b === "full").length;
  }
}

interface Fixture {
  readonly dir: string;
  readonly rec: Recorder;
  readonly watcher: FolderWatcher;
  write(rel: string, text?: string): Promise<void>;
}

async function withWatcher(
  fn: (f: Fixture) => Promise<void>,
  opts: Partial<FolderWatcherOptions> = {},
): Promise<void> {
  const dir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "dsync-watch-" }),
  );
  const rec = new Recorder();
  const watcher = new FolderWatcher({
    folder: dir,
    onBatch: (batch) => {
      rec.batches.push(batch);
      return Promise.resolve();
    },
    quietMs: 20,
    ...opts,
  });
  try {
    watcher.start();
    await watcher.started();
    await fn({
      dir,
      rec,
      watcher,
      write: (rel, text = "x") => Deno.writeTextFile(`${dir}/${rel}`, text),
    });
  } finally {
    await watcher.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("FolderWatcher reports created, modified and deleted files", async () => {
  await withWatcher(async ({ dir, rec, write }) => {
    await write("new.txt", "one");
    await waitFor(() => rec.named("new.txt"), "create of new.txt");
    rec.batches.length = 0;
    await write("new.txt", "two");
    await waitFor(() => rec.named("new.txt"), "modify of new.txt");
    rec.batches.length = 0;
    await Deno.remove(`${dir}/new.txt`);
    await waitFor(() => rec.named("new.txt"), "delete of new.txt");
    assertEquals(rec.fulls, 0);
  });
});

Deno.test("FolderWatcher reports both sides of a rename", async () => {
  await withWatcher(async ({ dir, rec, write }) => {
    await Deno.mkdir(`${dir}/sub`);
    await write("sub/old.txt");
    await waitFor(() => rec.saw("sub/old.txt"), "create");
    rec.batches.length = 0;
    await Deno.rename(`${dir}/sub/old.txt`, `${dir}/new name.txt`);
    await waitFor(
      () => rec.saw("sub/old.txt") && rec.named("new name.txt"),
      "both paths of the rename",
    );
  });
});

Deno.test("FolderWatcher covers files made in a new directory", async () => {
  await withWatcher(async ({ dir, rec, write }) => {
    await Deno.mkdir(`${dir}/d/e`, { recursive: true });
    await write("d/e/x.txt");
    await write("d/y.txt");
    await waitFor(
      () => rec.saw("d/e/x.txt") && rec.saw("d/y.txt"),
      "the new directory and its files",
    );
    assertEquals(rec.fulls, 0);
    // A batch never names a path below another one of the same batch.
    for (const batch of rec.batches) {
      assert(batch !== "full");
      for (const a of batch) {
        for (const b of batch) assert(a === b || !covers(a, b), `${a} ${b}`);
      }
    }
  });
});

Deno.test("FolderWatcher coalesces rapid writes to one file", async () => {
  await withWatcher(async ({ dir, rec, write }) => {
    const writes = 200;
    const file = await Deno.open(`${dir}/busy.log`, {
      create: true,
      write: true,
    });
    try {
      const line = new TextEncoder().encode("line\n");
      for (let i = 0; i < writes; i++) await file.write(line);
    } finally {
      file.close();
    }
    await write("sentinel");
    await waitFor(() => rec.named("sentinel"), "the sentinel");
    const withBusy = rec.batches.filter((b) =>
      b !== "full" && b.includes("busy.log")
    ).length;
    assert(withBusy >= 1, "busy.log was reported");
    assert(withBusy < writes / 4, `${withBusy} batches for ${writes} writes`);
  }, { quietMs: 75, maxDelayMs: 500 });
});

Deno.test("FolderWatcher drops .dsync, *.part and ignored paths but not .dsyncignore", async () => {
  const asked: string[] = [];
  await withWatcher(async ({ dir, rec, write }) => {
    await Deno.mkdir(`${dir}/.dsync`);
    await write(".dsync/index.db");
    await write("big.bin.part");
    await Deno.rename(`${dir}/big.bin.part`, `${dir}/big.bin`);
    await Deno.mkdir(`${dir}/node_modules/pkg`, { recursive: true });
    await write("node_modules/pkg/index.js");
    await write("skip.tmp");
    await write(".dsyncignore", "*.tmp\n");
    await write("kept.txt");
    await waitFor(
      () =>
        rec.named("kept.txt") && rec.named("big.bin") &&
        rec.named(".dsyncignore"),
      "kept.txt, big.bin and .dsyncignore",
    );
    for (
      const hidden of [".dsync", "big.bin.part", "node_modules", "skip.tmp"]
    ) {
      assert(!rec.named(hidden), `${hidden} was reported`);
    }
    assertEquals(rec.fulls, 0);
    assert(!asked.some((p) => p.startsWith(".dsync/")), "predicate saw .dsync");
  }, {
    ignore: (rel) => {
      asked.push(rel);
      return rel === ".dsyncignore" || rel.startsWith("node_modules") ||
        rel.endsWith(".tmp");
    },
  });
});

Deno.test("FolderWatcher maps paths when watching through a symlink", async () => {
  const real = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "dsync-watch-real-" }),
  );
  const link = `${real}-link`;
  await Deno.symlink(real, link);
  const rec = new Recorder();
  const watcher = new FolderWatcher({
    folder: link,
    onBatch: (batch) => {
      rec.batches.push(batch);
      return Promise.resolve();
    },
    quietMs: 20,
  });
  try {
    watcher.start();
    await watcher.started();
    await Deno.writeTextFile(`${real}/via-link.txt`, "x");
    await waitFor(() => rec.named("via-link.txt"), "via-link.txt");
  } finally {
    await watcher.close();
    await Deno.remove(link);
    await Deno.remove(real, { recursive: true });
  }
});

/** An event source driven by the test. */
class FakeSource implements EventSource {
  #queue: (Deno.FsEvent | Error)[] = [];
  #wake: (() => void) | undefined;
  closed = false;

  push(event: Deno.FsEvent | Error): void {
    this.#queue.push(event);
    this.#wake?.();
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Deno.FsEvent> {
    while (!this.closed) {
      const next = this.#queue.shift();
      if (next instanceof Error) throw next;
      if (next !== undefined) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}

/** A watcher of "/sync" whose batches land in a `Recorder`. */
function recording(
  opts: Partial<FolderWatcherOptions>,
): { rec: Recorder; watcher: FolderWatcher } {
  const rec = new Recorder();
  const watcher = new FolderWatcher({
    folder: "/sync",
    onBatch: (batch) => {
      rec.batches.push(batch);
      return Promise.resolve();
    },
    quietMs: 5,
    ...opts,
  });
  return { rec, watcher };
}

async function withFake(
  fn: (
    f: { source: FakeSource; rec: Recorder; watcher: FolderWatcher },
  ) => Promise<void>,
  opts: Partial<FolderWatcherOptions> = {},
): Promise<void> {
  const source = new FakeSource();
  const { rec, watcher } = recording({ watchFs: () => source, ...opts });
  try {
    watcher.start();
    await watcher.started();
    await fn({ source, rec, watcher });
  } finally {
    await watcher.close();
  }
  assert(source.closed, "the source was closed");
}

Deno.test("FolderWatcher turns overflow and unknown events into full rescans", async () => {
  const table: [string, Deno.FsEvent][] = [
    ["rescan flag", { kind: "other", paths: [], flag: "rescan" }],
    ["any", { kind: "any", paths: ["/sync/a"] }],
    ["other", { kind: "other", paths: ["/sync/a"] }],
    ["no paths", { kind: "modify", paths: [] }],
    ["the folder itself", { kind: "remove", paths: ["/sync"] }],
  ];
  for (const [what, event] of table) {
    await withFake(async ({ source, rec }) => {
      source.push(event);
      await waitFor(() => rec.batches.length > 0, what);
      assertEquals(rec.batches, ["full"], what);
    });
  }
});

/** Every path the batches named (none were "full"). */
function named(batches: RescanBatch[]): string[] {
  const out = new Set<string>();
  for (const batch of batches) {
    assert(batch !== "full", "no full rescan");
    for (const path of batch) out.add(path);
  }
  return [...out].sort();
}

Deno.test("FolderWatcher rescans both sides of a rename, however the OS reports it", async () => {
  const table: [string, Deno.FsEvent[], string[]][] = [
    // Linux (inotify): one event with both paths.
    ["one event, both paths", [
      { kind: "rename", paths: ["/sync/old.txt", "/sync/new.txt"] },
    ], ["new.txt", "old.txt"]],
    // Windows: a pair of events, "from" then "to".
    ["a pair of events", [
      { kind: "rename", paths: ["/sync/d/old.txt"] },
      { kind: "rename", paths: ["/sync/d/new.txt"] },
    ], ["d/new.txt", "d/old.txt"]],
    // macOS (FSEvents): flags of one path coalesced into several events,
    // names in NFD, the destination reported as created.
    ["coalesced, NFD", [
      { kind: "rename", paths: ["/sync/cafe\u0301.txt"] },
      { kind: "create", paths: ["/sync/cafe\u0301.txt"] },
      { kind: "rename", paths: ["/sync/caf\u00e9 2.txt"] },
      { kind: "remove", paths: ["/sync/caf\u00e9 2.txt"] },
    ], ["caf\u00e9 2.txt", "caf\u00e9.txt"]],
    // A directory moved: its old and new names cover everything below.
    ["a directory", [
      { kind: "rename", paths: ["/sync/a"] },
      { kind: "modify", paths: ["/sync/a/x.txt"] },
      { kind: "rename", paths: ["/sync/b"] },
    ], ["a", "b"]],
  ];
  for (const [what, events, paths] of table) {
    await withFake(async ({ source, rec }) => {
      for (const event of events) source.push(event);
      await waitFor(
        () =>
          rec.batches.flatMap((b) => b === "full" ? ["full"] : b)
            .length >= paths.length,
        what,
      );
      assertEquals(named(rec.batches), paths, what);
    });
  }
});

Deno.test("FolderWatcher drops event paths outside the folder", async () => {
  await withFake(async ({ source, rec }) => {
    source.push({ kind: "create", paths: ["/elsewhere/x", "/sync2/y"] });
    source.push({ kind: "rename", paths: ["/outside/a", "/sync/in"] });
    await waitFor(() => rec.batches.length > 0, "a batch");
    assertEquals(rec.batches, [["in"]]);
  });
});

Deno.test("FolderWatcher never runs two batches at once", async () => {
  let running = 0;
  let most = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const batches: RescanBatch[] = [];
  await withFake(async ({ source }) => {
    source.push({ kind: "create", paths: ["/sync/first"] });
    await waitFor(() => batches.length === 1, "the first batch");
    source.push({ kind: "create", paths: ["/sync/second"] });
    source.push({ kind: "modify", paths: ["/sync/third"] });
    await waitFor(() => running === 1, "the first batch running");
    release();
    await waitFor(() => batches.length === 2, "the second batch");
    assertEquals(batches, [["first"], ["second", "third"]]);
    assertEquals(most, 1);
  }, {
    onBatch: async (batch) => {
      batches.push(batch);
      running++;
      most = Math.max(most, running);
      try {
        if (batches.length === 1) await gate;
      } finally {
        running--;
      }
    },
  });
});

Deno.test("FolderWatcher survives a failing onBatch", async () => {
  const batches: RescanBatch[] = [];
  await withFake(async ({ source }) => {
    source.push({ kind: "create", paths: ["/sync/a"] });
    await waitFor(() => batches.length === 1, "the failing batch");
    source.push({ kind: "create", paths: ["/sync/b"] });
    await waitFor(() => batches.length === 2, "the next batch");
    assertEquals(batches, [["a"], ["b"]]);
  }, {
    onBatch: (batch) => {
      batches.push(batch);
      if (batches.length === 1) throw new Error("Scan exploded");
      return Promise.resolve();
    },
  });
});

Deno.test("FolderWatcher.close() waits for the batch in flight", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  let started = false;
  let finished = false;
  await withFake(async ({ source, watcher }) => {
    source.push({ kind: "create", paths: ["/sync/a"] });
    await waitFor(() => started, "the batch to start");
    let closed = false;
    const closing = watcher.close().then(() => closed = true);
    await waitFor(() => source.closed, "the source to close");
    assert(!closed, "close() resolved while onBatch ran");
    release();
    await closing;
    assert(finished);
    assert(watcher.close() === watcher.close(), "close() is idempotent");
    assertThrows(() => watcher.start(), Error, "closed");
  }, {
    onBatch: async () => {
      started = true;
      await gate;
      finished = true;
    },
  });
});

Deno.test("FolderWatcher.start() throws when called twice", async () => {
  await withFake(({ watcher }) => {
    assertThrows(() => watcher.start(), Error, "running");
    return Promise.resolve();
  });
});

Deno.test("FolderWatcher falls back to periodic full rescans when watching fails", async () => {
  const batches: RescanBatch[] = [];
  const watcher = new FolderWatcher({
    folder: "/sync",
    onBatch: (batch) => {
      batches.push(batch);
      return Promise.resolve();
    },
    watchFs: () => {
      throw new Error("inotify watch limit reached");
    },
    fallbackIntervalMs: 20,
    quietMs: 5,
    maxDelayMs: 10,
  });
  try {
    watcher.start();
    assert(watcher.degraded);
    await waitFor(() => batches.length >= 3, "three full rescans");
    assert(batches.every((b) => b === "full"));
  } finally {
    await watcher.close();
  }
});

Deno.test("FolderWatcher falls back when the event stream fails", async () => {
  await withFake(async ({ source, rec, watcher }) => {
    source.push({ kind: "create", paths: ["/sync/a"] });
    await waitFor(() => rec.batches.length === 1, "the first batch");
    assert(!watcher.degraded);
    source.push(new Error("Event stream broke"));
    await waitFor(() => rec.fulls >= 2, "full rescans");
    assert(watcher.degraded);
    assert(source.closed);
    assertEquals(rec.batches[0], ["a"]);
  }, { fallbackIntervalMs: 20 });
});

Deno.test("FolderWatcher falls back when the event stream ends", async () => {
  await withFake(async ({ source, rec, watcher }) => {
    source.close();
    await waitFor(() => rec.fulls >= 1, "a full rescan");
    assert(watcher.degraded);
  });
});

Deno.test("FolderWatcher() rejects a bad fallback interval", () => {
  assertThrows(
    () =>
      new FolderWatcher({
        folder: "/sync",
        onBatch: () => Promise.resolve(),
        fallbackIntervalMs: 0,
      }),
    RangeError,
    "fallbackIntervalMs 0",
  );
});

Deno.test("FolderWatcher.suspend() closes the source and resume() watches with a new one", async () => {
  const sources: FakeSource[] = [];
  const { rec, watcher } = recording({
    watchFs: () => {
      const source = new FakeSource();
      sources.push(source);
      return source;
    },
  });
  try {
    watcher.start();
    await watcher.started();
    assert(watcher.suspend());
    assert(watcher.suspended);
    assert(sources[0]!.closed, "the first source was closed");
    assert(!watcher.suspend(), "a second suspend() does nothing");
    // The closed source's end is not a failure: no fallback to polling.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert(!watcher.degraded);
    assertEquals(rec.batches, []);

    await watcher.resume();
    assert(!watcher.suspended);
    assertEquals(sources.length, 2);
    sources[1]!.push({ kind: "create", paths: ["/sync/after.txt"] });
    await waitFor(() => rec.named("after.txt"), "an event after resume()");
    await watcher.resume(); // not suspended: nothing happens
    assertEquals(sources.length, 2);
  } finally {
    await watcher.close();
  }
  assert(sources.every((s) => s.closed), "every source was closed");
});

Deno.test("FolderWatcher.suspend() does nothing while it polls instead of watching", async () => {
  const watcher = new FolderWatcher({
    folder: "/sync",
    onBatch: () => Promise.resolve(),
    watchFs: () => {
      throw new Error("no inotify here");
    },
    fallbackIntervalMs: 60_000,
  });
  try {
    watcher.start();
    assert(watcher.degraded);
    assert(!watcher.suspend());
    await watcher.resume();
    assert(watcher.degraded);
  } finally {
    await watcher.close();
  }
});

Deno.test("FolderWatcher.close() while suspended ends cleanly", async () => {
  const source = new FakeSource();
  const watcher = new FolderWatcher({
    folder: "/sync",
    onBatch: () => Promise.resolve(),
    watchFs: () => source,
  });
  watcher.start();
  assert(watcher.suspend());
  await watcher.close();
  await watcher.resume(); // after close: nothing is opened
  assert(source.closed);
});
