import { assertEquals } from "../assert.ts";
import { inSyncLineDue, toStatusView } from "../../src/node/status_reporter.ts";
import type { SyncStatus } from "../../src/sync/mod.ts";

const status: SyncStatus = {
  peers: [
    {
      id: "a".repeat(64),
      fingerprint: "AAAA-BBBB-CCCC",
      name: "nas",
      connected: true,
      initialSyncDone: true,
      indexReceived: true,
      indexAcked: true,
      confirmed: true,
      address: "10.0.0.2:9000",
      connectedAt: 50,
      disconnectedAt: undefined,
      bytesReceived: 0,
      bytesSent: 0,
    },
    {
      id: "b".repeat(64),
      fingerprint: "DDDD-EEEE-FFFF",
      name: undefined,
      connected: false,
      initialSyncDone: false,
      indexReceived: false,
      indexAcked: false,
      confirmed: false,
      address: undefined,
      connectedAt: 10,
      disconnectedAt: 20,
      bytesReceived: 0,
      bytesSent: 0,
    },
  ],
  transfers: [{ path: "x.bin", bytesDone: 5, bytesTotal: 10, startedAt: 100 }],
  totals: { files: 1234, bytes: 5_600_000_000 },
  pending: 0,
  retrying: 0,
  indexing: false,
  inSync: true,
  bytesReceived: 0,
  bytesSent: 0,
  bytesReused: 0,
  paused: false,
  deletesHeld: 0,
  deletesSettling: 0,
  mode: "send-receive",
  differing: 0,
  localChanges: 0,
};

Deno.test("toStatusView() keeps connected peers and maps transfers", () => {
  assertEquals(toStatusView(status), {
    peers: [{ name: "nas", fingerprint: "AAAA-BBBB-CCCC", synced: true }],
    transfers: [{
      path: "x.bin",
      doneBytes: 5,
      totalBytes: 10,
      startedAt: 100,
    }],
    files: 1234,
    bytes: 5_600_000_000,
    retrying: 0,
    indexing: false,
    inSync: true,
  });
});

Deno.test("inSyncLineDue() logs once per change of the in-sync summary", () => {
  const view = toStatusView(status);
  const line = "in sync with 1 peer, 1,234 files, 5.6 GB";
  const table: [string | undefined, typeof view, string | undefined][] = [
    [undefined, view, line],
    [line, view, undefined],
    ["in sync with 1 peer, 1,233 files, 5.6 GB", view, line],
    [undefined, { ...view, inSync: false }, undefined],
    [undefined, { ...view, peers: [] }, undefined],
  ];
  for (const [previous, input, expected] of table) {
    assertEquals(inSyncLineDue(previous, input), expected);
  }
});
