import { assert, assertEquals } from "../assert.ts";
import {
  fitLeft,
  renderBar,
  renderStatus,
  renderSummary,
  renderTransfer,
  type StatusView,
  TtyStatus,
} from "../../src/ui/mod.ts";

const peer = { name: "laptop", fingerprint: "KZDV-VJ2U-MNDU", synced: true };

Deno.test("renderSummary() says how many peers, files and bytes", () => {
  const view: StatusView = {
    peers: [peer, { ...peer, name: "nas" }],
    transfers: [],
    files: 1234,
    bytes: 5_600_000_000,
    retrying: 0,
    indexing: false,
    inSync: true,
  };
  assertEquals(
    renderSummary(view),
    "in sync with 2 peers, 1,234 files, 5.6 GB",
  );
  assertEquals(
    renderSummary({ ...view, peers: [peer], files: 1 }),
    "in sync with 1 peer, 1 file, 5.6 GB",
  );
  assertEquals(
    renderSummary({ ...view, peers: [] }),
    "waiting for peers; 1,234 files, 5.6 GB",
  );
});

Deno.test("renderTransfer() shows name, percentage, bytes, rate and ETA in the width", () => {
  const line = renderTransfer(
    {
      path: "videos/holiday.mp4",
      doneBytes: 50_000_000,
      totalBytes: 200_000_000,
      startedAt: 0,
    },
    2000,
    100,
  );
  assert(line.includes("videos/holiday.mp4"), line);
  assert(line.includes(" 25% "), line);
  assert(line.includes("50.0 MB/200 MB"), line);
  assert(line.includes("25.0 MB/s"), line);
  assert(line.includes("ETA 6.0 s"), line);
  assert([...line].length <= 100, `${[...line].length} columns`);
  const narrow = renderTransfer(
    {
      path: "a/very/long/path/".repeat(10) + "end.bin",
      doneBytes: 0,
      totalBytes: 10,
      startedAt: 0,
    },
    1000,
    80,
  );
  assert(narrow.includes("end.bin"), narrow);
  assert(narrow.includes("ETA ?"), narrow);
});

Deno.test("renderStatus() hides transfers under a second and sums up when in sync", () => {
  const view: StatusView = {
    peers: [peer],
    transfers: [
      { path: "quick.txt", doneBytes: 1, totalBytes: 2, startedAt: 9_500 },
      { path: "slow.iso", doneBytes: 1, totalBytes: 2, startedAt: 5_000 },
    ],
    files: 3,
    bytes: 3000,
    retrying: 0,
    indexing: false,
    inSync: false,
  };
  const lines = renderStatus(view, 10_000, 100);
  assertEquals(lines.length, 3);
  assert(lines[0]!.includes("laptop (KZDV-VJ2U-MNDU) connected"));
  assert(lines[1]!.includes("slow.iso"));
  assertEquals(lines[2], "syncing: 2 files in flight");
  const synced = renderStatus(
    { ...view, transfers: [], inSync: true },
    10_000,
    100,
  );
  assertEquals(synced.at(-1), "in sync with 1 peer, 3 files, 3.0 KB");
  const failing = renderStatus(
    { ...view, transfers: [], retrying: 2 },
    10_000,
    100,
  );
  assertEquals(
    failing.at(-1),
    "not in sync: 2 files cannot be applied yet, retrying (see the log)",
  );
  const indexing = renderStatus(
    { ...view, transfers: [], indexing: true, files: 1200, bytes: 5e9 },
    10_000,
    100,
  );
  assertEquals(
    indexing.at(-1),
    "indexing the folder: 1,200 files so far, 5.0 GB",
  );
});

Deno.test("fitLeft() and renderBar() stay within their width", () => {
  assertEquals(fitLeft("abcdef", 10), "abcdef");
  assertEquals(fitLeft("abcdef", 4), "…def");
  assertEquals(renderBar(0.5, 4), "██░░");
  assertEquals(renderBar(2, 3), "███");
  assertEquals(renderBar(NaN, 2), "░░");
});

Deno.test("TtyStatus redraws its block in place and puts log lines above it", () => {
  let written = "";
  const out = {
    writeSync(p: Uint8Array) {
      written += new TextDecoder().decode(p);
      return p.length;
    },
  };
  const status = new TtyStatus(out, () => 80);
  const view: StatusView = {
    peers: [peer],
    transfers: [],
    files: 1,
    bytes: 1,
    retrying: 0,
    indexing: false,
    inSync: true,
  };
  status.draw(view, 0);
  assertEquals(written.split("\n").length - 1, 2);
  written = "";
  status.interrupt("log line\n");
  assert(written.startsWith("\x1b[2A"), JSON.stringify(written));
  assert(written.endsWith("log line\n"));
  written = "";
  status.draw(view, 0);
  // deno-lint-ignore no-control-regex
  assert(!/\x1b\[\d+A/.test(written), "nothing to erase after interrupt");
});
