import { assertEquals } from "../assert.ts";
import { renderStatusReport } from "../../src/cli/status_text.ts";
import type { PeerReport, StatusDocument } from "../../src/node/mod.ts";

const beta: PeerReport = {
  name: "beta",
  fingerprint: "AAAA-BBBB-CCCC",
  address: "10.0.0.2:9000",
  connected: true,
  connectedSince: 0,
  disconnectedAt: null,
  indexReceived: true,
  indexSent: true,
  confirmed: true,
  bytesReceived: 1_500_000,
  bytesSent: 0,
  bytesSentFromPartial: 0,
  rateIn: 0,
  rateOut: 0,
  holds: null,
};

function doc(overrides: Partial<StatusDocument> = {}): StatusDocument {
  return {
    folder: {
      path: "/data/shared",
      files: 1234,
      bytes: 5_600_000_000,
      state: "in sync",
      waiting: [],
      mode: "send-receive",
      differing: 0,
      localChanges: 0,
    },
    group: "GGGG-HHHH-IIII",
    device: { name: "alpha", fingerprint: "1111-2222-3333" },
    peers: [beta],
    transfers: [],
    remaining: { bytes: 0, etaSeconds: 0 },
    recent: [],
    conflicts: [],
    notSynced: {
      counts: {
        unreadable: 0,
        "invalid UTF-8 name": 0,
        "name not allowed on peer": 0,
        "name not allowed here": 0,
      },
      files: [],
    },
    pending: 0,
    retrying: 0,
    bytesReceived: 1_500_000,
    bytesSent: 0,
    bytesReused: 0,
    names: { twins: [], invisible: [], truncated: false },
    ...overrides,
  };
}

Deno.test("renderStatusReport() prints one line for the folder and one per peer, in human units", () => {
  assertEquals(renderStatusReport(doc(), 192_000), [
    "/data/shared: in sync with 1 peer, 1,234 files, 5.6 GB",
    "  beta (AAAA-BBBB-CCCC) at 10.0.0.2:9000: in sync, connected for 3m12s; received 1.5 MB, sent 0 B",
  ]);
});

Deno.test("renderStatusReport() says what is missing and shows disconnected peers and transfers", () => {
  const lines = renderStatusReport(
    doc({
      folder: {
        path: "/data/shared",
        files: 2,
        bytes: 2_000,
        state: "syncing",
        waiting: ["1 file to bring here", "waiting for beta to finish pulling"],
        mode: "send-receive",
        differing: 0,
        localChanges: 0,
      },
      peers: [
        { ...beta, confirmed: false },
        {
          ...beta,
          name: null,
          fingerprint: "DDDD-EEEE-FFFF",
          address: null,
          connected: false,
          disconnectedAt: 5_000,
        },
      ],
      transfers: [{
        path: "big.iso",
        done: 12_000_000,
        total: 40_000_000,
        startedAt: 0,
      }],
    }),
    17_000,
  );
  assertEquals(lines, [
    "/data/shared: syncing, 2 files, 2.0 KB; 1 file to bring here; waiting for beta to finish pulling",
    "  beta (AAAA-BBBB-CCCC) at 10.0.0.2:9000: pulling from us, connected for 17.0 s; received 1.5 MB, sent 0 B",
    "  (no name) (DDDD-EEEE-FFFF): disconnected 12.0 s ago; received 1.5 MB, sent 0 B",
    "  receiving big.iso: 12.0 MB of 40.0 MB",
  ]);
  assertEquals(
    renderStatusReport(
      doc({
        folder: { ...doc().folder, state: "scanning" },
        peers: [],
      }),
      0,
    ),
    ["/data/shared: scanning, 1,234 files, 5.6 GB so far"],
  );
  assertEquals(
    renderStatusReport(
      doc({ folder: { ...doc().folder, state: "no peers" }, peers: [] }),
      0,
    ),
    ["/data/shared: no peer connected, 1,234 files, 5.6 GB"],
  );
});

Deno.test("renderStatusReport() says how a send-only or receive-only folder differs from the group", () => {
  assertEquals(
    renderStatusReport(
      doc({ folder: { ...doc().folder, mode: "send-only", differing: 3 } }),
      192_000,
    )[1],
    "  send-only: 3 files differ from the group (dsync override -d /data/shared puts this folder's state on the peers)",
  );
  assertEquals(
    renderStatusReport(
      doc({
        folder: { ...doc().folder, mode: "receive-only", localChanges: 1 },
      }),
      192_000,
    )[1],
    "  receive-only: 1 local change kept here, not sent (dsync revert -d /data/shared replaces them with the group's)",
  );
});

Deno.test("renderStatusReport() lists look-alike and invisible names with invisible characters spelled out", () => {
  const lines = renderStatusReport(
    doc({
      peers: [{ ...beta, name: "be\u202eta" }],
      names: {
        twins: [["Notes.txt", "notes.txt"], ["a\u200bb", "ab"]],
        invisible: ["\u202egnp.exe", "a\u200bb"],
        truncated: true,
      },
    }),
    192_000,
  );
  assertEquals(lines.slice(1), [
    "  be<U+202E>ta (AAAA-BBBB-CCCC) at 10.0.0.2:9000: in sync, connected for 3m12s; received 1.5 MB, sent 0 B",
    "  look-alike names (differ only by case, normalisation or invisible characters): Notes.txt, notes.txt",
    "  look-alike names (differ only by case, normalisation or invisible characters): a<U+200B>b, ab",
    "  name with invisible or reordering characters: <U+202E>gnp.exe",
    "  name with invisible or reordering characters: a<U+200B>b",
    "  (more look-alike names not listed)",
  ]);
});

Deno.test("renderStatusReport() says a peer is confirming what it holds instead of a low share", () => {
  const pulling: PeerReport = {
    ...beta,
    confirmed: false,
    holds: { files: 2, bytes: 10, percent: 12.5, known: "confirming" },
  };
  assertEquals(
    renderStatusReport(doc({ peers: [pulling] }), 192_000)[1],
    "  beta (AAAA-BBBB-CCCC) at 10.0.0.2:9000: pulling from us, confirming what it holds (at least 12.5% so far), connected for 3m12s; received 1.5 MB, sent 0 B",
  );
  const exact: PeerReport = {
    ...beta,
    holds: { files: 2, bytes: 10, percent: 12.5, known: "confirmed" },
  };
  assertEquals(
    renderStatusReport(doc({ peers: [exact] }), 192_000)[1],
    "  beta (AAAA-BBBB-CCCC) at 10.0.0.2:9000: in sync, holds 12.5%, connected for 3m12s; received 1.5 MB, sent 0 B",
  );
});
