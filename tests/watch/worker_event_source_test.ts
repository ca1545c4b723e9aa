import {
  WorkerEventSource,
  type WorkerEventSourceOptions,
} from "../../src/watch/worker_event_source.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { waitFor } from "../_wait.ts";

/** Collects what a source yields until it ends or fails. */
class Collector {
  readonly paths = new Set<string>();
  readonly events: Deno.FsEvent[] = [];
  error: unknown;
  ended = false;
  readonly done: Promise<void>;

  constructor(source: WorkerEventSource) {
    this.done = (async () => {
      try {
        for await (const event of source) {
          this.events.push(event);
          for (const path of event.paths) this.paths.add(path);
        }
      } catch (err) {
        this.error = err;
      } finally {
        this.ended = true;
      }
    })();
  }

  get rescans(): number {
    return this.events.filter((e) => e.flag === "rescan").length;
  }
}

/** Waits until the watcher reports a probe file, i.e. it is watching. */
async function watching(dir: string, seen: Collector): Promise<void> {
  const probe = `${dir}/probe`;
  let i = 0;
  await waitFor(
    () => {
      if (seen.paths.has(probe)) return true;
      Deno.writeTextFileSync(probe, String(i++));
      return false;
    },
    "the watcher to start",
    10_000,
    20,
  );
}

/**
 * Runs `fn` with a watched temp folder and what its source yields, once the
 * source is watching; then closes the source and removes the folder.
 */
async function withSource(
  options: WorkerEventSourceOptions,
  fn: (dir: string, seen: Collector) => Promise<void>,
): Promise<Collector> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/.dsync`);
  const source = new WorkerEventSource(dir, options);
  const seen = new Collector(source);
  try {
    await watching(dir, seen);
    await fn(dir, seen);
  } finally {
    source.close();
    await seen.done;
    await Deno.remove(dir, { recursive: true });
  }
  return seen;
}

/** Blocks this thread for `ms`, as a busy event loop does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

Deno.test("WorkerEventSource reports changes under the folder, recursively", async () => {
  const seen = await withSource({}, async (dir, seen) => {
    await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
    await waitFor(() => seen.paths.has(`${dir}/sub`), "the new directory");
    // Give the recursive watch of the new directories a moment to be set up
    // by writing until the nested file is reported.
    const nested = `${dir}/sub/deeper/file.txt`;
    await waitFor(() => {
      Deno.writeTextFileSync(nested, "x");
      return seen.paths.has(nested);
    }, "the nested file");
    await Deno.remove(nested);
    await waitFor(
      () => seen.events.some((e) => e.kind === "remove"),
      "the removal",
    );
  });
  assert(seen.ended);
  assertEquals(seen.error, undefined);
});

Deno.test("WorkerEventSource loses no event while this thread is busy", async () => {
  // Deno.watchFs read on a busy thread drops what does not fit in its
  // channel of 16 (measured: 1 of these 500 reported); the worker drains it
  // meanwhile.
  const count = 500;
  await withSource({}, async (dir, seen) => {
    for (let i = 0; i < count; i++) {
      Deno.writeTextFileSync(`${dir}/f${i}`, "x");
    }
    busy(200);
    await waitFor(() => {
      for (let i = 0; i < count; i++) {
        if (!seen.paths.has(`${dir}/f${i}`)) return false;
      }
      return true;
    }, `all ${count} files`);
    assertEquals(seen.rescans, 0);
  });
});

Deno.test("WorkerEventSource asks for a full rescan after dropping events past its cap, then goes on", async () => {
  await withSource({ maxInFlight: 50 }, async (dir, seen) => {
    // Nothing is consumed while this thread spins, so the worker's cap fills.
    for (let i = 0; i < 500; i++) {
      Deno.writeTextFileSync(`${dir}/f${i}`, "x");
    }
    busy(300);
    await waitFor(() => seen.rescans > 0, "the rescan request");
    const rescanAt = seen.events.findIndex((e) => e.flag === "rescan");
    assertEquals(seen.events[rescanAt], {
      kind: "other",
      paths: [],
      flag: "rescan",
    });
    // Forwarding resumed: a later change is reported by name.
    await Deno.writeTextFile(`${dir}/after`, "x");
    await waitFor(() => seen.paths.has(`${dir}/after`), "a later change");
  });
});

Deno.test("WorkerEventSource fails the iteration when the folder cannot be watched", async () => {
  const dir = await Deno.makeTempDir();
  const missing = `${dir}/missing`;
  const source = new WorkerEventSource(missing);
  try {
    await assertRejects(async () => {
      for await (const _ of source) {
        // No event can come from a folder that does not exist.
      }
    });
  } finally {
    source.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WorkerEventSource.close() ends a waiting iteration", async () => {
  const dir = await Deno.makeTempDir();
  const source = new WorkerEventSource(dir);
  const seen = new Collector(source);
  try {
    await watching(dir, seen);
    source.close();
    await seen.done;
    assert(seen.ended);
    assertEquals(seen.error, undefined);
    source.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WorkerEventSource drops events on dsync's own files", async () => {
  await withSource({}, async (dir, seen) => {
    await Deno.writeTextFile(`${dir}/.a.txt.dsync-01.part`, "x");
    await Deno.writeTextFile(`${dir}/.dsync/index.db`, "x");
    await Deno.writeTextFile(`${dir}/a.txt`, "x");
    await waitFor(() => seen.paths.has(`${dir}/a.txt`), "a.txt");
    assert(!seen.paths.has(`${dir}/.a.txt.dsync-01.part`));
    assert(!seen.paths.has(`${dir}/.dsync/index.db`));
  });
});
