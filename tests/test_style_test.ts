/**
 * One assertion style and one way to wait, for every file under tests/:
 * - assertions come from tests/assert.ts, the only test file that imports
 *   node:assert;
 * - a test waits for a condition with tests/_wait.ts's
 *   `waitFor(condition, what, timeoutMs, pollMs)`, never with a loop of its
 *   own against the clock or with a fixed sleep standing in for a
 *   condition; a local shorthand for `waitFor` keeps its argument order.
 *
 * A "sleep" is a timer whose callback is a promise's resolver
 * (`new Promise((r) => setTimeout(r, ms))`) with a delay other than 0 (a
 * 0 ms timer only yields a turn of the event loop). A "clock loop" is a
 * deadline computed from the clock (`const end = Date.now() + ms`) or a
 * `while` bounded by the clock. The few that are not waits on a condition
 * are listed below by file, with how many and why; a count that no longer
 * matches fails the test too, so the list stays exact.
 */
import { assertEquals } from "./assert.ts";

interface Allowed {
  /** Sleeps in the file. */
  readonly sleeps?: number;
  /** Clock loops in the file. */
  readonly clockLoops?: number;
  readonly why: string;
}

/** Time that must pass so a test can show something does not happen. */
const HOLD = "holds a period to show that something does not happen";
/** A workload spread over time on purpose, not a wait. */
const PACE = "paces a workload in time (what is measured), not a wait";

const ALLOWED: Readonly<Record<string, Allowed>> = {
  "tests/_wait.ts": { sleeps: 1, clockLoops: 1, why: "the one way to wait" },
  "tests/net/pool_test.ts": {
    sleeps: 1,
    why: `${HOLD}: no disconnect past the dead-peer timeout`,
  },
  "tests/watch/folder_watcher_test.ts": {
    sleeps: 1,
    why: `${HOLD}: no fallback to polling after suspend()`,
  },
  "tests/e2e/faults_test.ts": {
    sleeps: 1,
    why: `${HOLD}: no file completes through a cut link`,
  },
  "tests/e2e/index_flood_test.ts": {
    sleeps: 2,
    why:
      `${PACE}: samples RSS every 100 ms; then ${HOLD} (the victim reads no faster than its quota)`,
  },
  "tests/sync/session/peer_session_test.ts": {
    sleeps: 1,
    why: `${HOLD}: no reading on while a peer is in quota debt`,
  },
  "tests/e2e/record_memory_test.ts": {
    sleeps: 2,
    why:
      `${PACE}: samples RSS every 50 ms; then ${HOLD} (memory stays bounded once the pulls run)`,
  },
  "tests/e2e/_record_memory_probe.ts": {
    sleeps: 2,
    why:
      `${PACE}: samples RSS every 50 ms; then ${HOLD} (memory stays bounded after the flood)`,
  },
  "tests/e2e/dead_peer_test.ts": {
    sleeps: 1,
    why: `${HOLD}: no disconnect on a quiet link`,
  },
  "tests/e2e/folder_guard_test.ts": {
    sleeps: 1,
    clockLoops: 2,
    why: `${HOLD}: the folder keeps its content after its peer stopped`,
  },
  "tests/e2e/groups_test.ts": {
    clockLoops: 2,
    why: `${HOLD}: a refused device gets nothing over several dials`,
  },
  "tests/e2e/pause_test.ts": {
    clockLoops: 1,
    why: `${HOLD}: no byte moves while paused`,
  },
  "tests/scripts/bench_sync_test.ts": {
    sleeps: 1,
    why: `${PACE}: a copy like rsync's, file by file`,
  },
  "tests/e2e/lost_changes_test.ts": {
    sleeps: 2,
    why: `${PACE}: writes staggered by the delays under test`,
  },
  "tests/e2e/_fuzz.ts": {
    sleeps: 1,
    clockLoops: 2,
    why: `${PACE}: a fuzz run of a given duration, a pause per connection`,
  },
  "tests/e2e/_hostile_memory_probe.ts": {
    sleeps: 1,
    why: `${PACE}: rounds of a memory probe`,
  },
  "tests/e2e/honest_in_sync_test.ts": {
    clockLoops: 1,
    why: `${PACE}: a time budget for the number of runs`,
  },
  "tests/e2e/_hostile_peer.ts": {
    sleeps: 1,
    why:
      "back-off between dial attempts, bounded in count; the last error is rethrown",
  },
  "tests/e2e/_mesh.ts": {
    clockLoops: 1,
    why:
      "one deadline shared by several waitIdentical() calls (each a waitFor)",
  },
  "tests/watch/worker_event_source_test.ts": {
    clockLoops: 2,
    why: "busy(): blocks the thread on purpose, as a busy event loop does",
  },
};

const SLEEP = /setTimeout\(\s*[A-Za-z_$][\w$]*\s*,\s*([^)]+)\)/g;
const CLOCK_LOOP =
  /(?:\b(?:const|let)\s+[\w$]+\s*=\s*(?:Date|performance)\.now\(\)\s*\+)|(?:\bwhile\s*\([^)]*?\b(?:Date|performance)\.now\(\))/g;
const NODE_ASSERT = /["']node:assert(?:\/strict)?["']/;
/** A wait shorthand that puts `what` before the condition. */
const REVERSED_WAIT =
  /function\s+[\w$]+\(\s*what\s*:\s*string\s*,\s*[\w$]+\s*:\s*\(/;

async function testFiles(dir: URL, rel: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${rel}/${entry.name}`;
    if (entry.isDirectory) {
      if (entry.name === "testdata") continue;
      out.push(...await testFiles(new URL(`${entry.name}/`, dir), path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push(path);
    }
  }
  return out.sort();
}

/** Counts sleeps (timers resolving a promise after more than 0 ms). */
export function countSleeps(text: string): number {
  let n = 0;
  for (const m of text.matchAll(SLEEP)) if (m[1]!.trim() !== "0") n++;
  return n;
}

/** Counts deadlines taken from the clock and `while` loops bounded by it. */
export function countClockLoops(text: string): number {
  return [...text.matchAll(CLOCK_LOOP)].length;
}

const TESTS = new URL("./", import.meta.url);
const SELF = "tests/test_style_test.ts";

Deno.test("countSleeps() and countClockLoops() tell waits from yields and fake clocks", () => {
  const cases: [string, number, number][] = [
    ["await new Promise((r) => setTimeout(r, 20));", 1, 0],
    ["await new Promise((resolve) => setTimeout(resolve, ms));", 1, 0],
    ["const tick = () => new Promise((r) => setTimeout(r, 0));", 0, 0],
    ["setTimeout(() => side.deliver(copy), 0);", 0, 0],
    ["timer = setTimeout(() => controller.abort(hang), 5_000);", 0, 0],
    ["const deadline = Date.now() + 5000;", 0, 1],
    ["while (sent.length < 2 && Date.now() < deadline) {}", 0, 1],
    ["} while (performance.now() < end);", 0, 1],
    ["const LATER = () => Date.now() + 3_600_000;", 0, 0],
    ["now: () => Date.now() + 3_600_000,", 0, 0],
    ["const cutAt = Date.now();", 0, 0],
  ];
  for (const [text, sleeps, loops] of cases) {
    assertEquals(
      [countSleeps(text), countClockLoops(text)],
      [sleeps, loops],
      text,
    );
  }
});

Deno.test("tests assert through tests/assert.ts and wait with tests/_wait.ts", async () => {
  const files = await testFiles(TESTS, "tests");
  const nodeAssert: string[] = [];
  const reversed: string[] = [];
  const found: Record<string, { sleeps: number; clockLoops: number }> = {};
  for (const path of files) {
    if (path === SELF) continue;
    const text = await Deno.readTextFile(new URL(`../${path}`, TESTS));
    if (path !== "tests/assert.ts" && NODE_ASSERT.test(text)) {
      nodeAssert.push(path);
    }
    if (REVERSED_WAIT.test(text)) reversed.push(path);
    const sleeps = countSleeps(text);
    const clockLoops = countClockLoops(text);
    if (sleeps > 0 || clockLoops > 0) found[path] = { sleeps, clockLoops };
  }
  assertEquals(nodeAssert, [], "files importing node:assert");
  assertEquals(reversed, [], "wait shorthands taking `what` first");
  const allowed = Object.fromEntries(
    Object.entries(ALLOWED).map(([path, a]) => [
      path,
      { sleeps: a.sleeps ?? 0, clockLoops: a.clockLoops ?? 0 },
    ]),
  );
  assertEquals(
    found,
    allowed,
    "sleeps and clock loops outside the allow-list (or an entry no longer needed): use waitFor() from tests/_wait.ts",
  );
});
