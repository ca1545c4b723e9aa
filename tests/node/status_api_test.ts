import { assertEquals } from "../assert.ts";
import {
  holdsKnown,
  StatusBuilder,
  statusDocument,
  waitingReasons,
} from "../../src/node/status_api.ts";
import { statusRoutes } from "../../src/node/status_routes.ts";
import type { PeerStatus, SyncStatus } from "../../src/sync/mod.ts";

function peer(overrides: Partial<PeerStatus> = {}): PeerStatus {
  return {
    id: "a".repeat(64),
    fingerprint: "AAAA-BBBB-CCCC",
    name: "beta",
    connected: true,
    initialSyncDone: true,
    indexReceived: true,
    indexAcked: true,
    confirmed: true,
    address: "10.0.0.2:9000",
    connectedAt: 1_000,
    disconnectedAt: undefined,
    bytesReceived: 10,
    bytesSent: 20,
    ...overrides,
  };
}

function status(overrides: Partial<SyncStatus> = {}): SyncStatus {
  return {
    peers: [peer()],
    transfers: [],
    totals: { files: 3, bytes: 4_000 },
    pending: 0,
    retrying: 0,
    indexing: false,
    inSync: true,
    bytesReceived: 10,
    bytesSent: 20,
    bytesReused: 5,
    paused: false,
    deletesHeld: 0,
    deletesSettling: 0,
    mode: "send-receive",
    differing: 0,
    localChanges: 0,
    ...overrides,
  };
}

const sources = {
  folder: "/data/shared",
  device: { name: "alpha", fingerprint: "1111-2222-3333" },
  group: "GGGG-HHHH",
  rates: new Map(),
  held: new Map(),
  receiveRate: 0,
  recent: [],
  conflicts: [],
  unreadable: [],
};

Deno.test("statusDocument() says in sync only when every connected peer confirmed both ways", () => {
  const table: [string, SyncStatus, string, string[]][] = [
    ["all confirmed", status(), "in sync", []],
    ["first scan", status({ indexing: true, inSync: false }), "scanning", [
      "indexing the folder",
    ]],
    [
      "their index missing",
      status({ peers: [peer({ indexReceived: false, confirmed: false })] }),
      "syncing",
      ["waiting for the index of beta"],
    ],
    [
      "ours not acked",
      status({ peers: [peer({ indexAcked: false, confirmed: false })] }),
      "syncing",
      ["waiting for beta to take our index"],
    ],
    [
      "peer still pulling",
      status({ peers: [peer({ confirmed: false, name: undefined })] }),
      "syncing",
      ["waiting for AAAA-BBBB-CCCC to finish pulling"],
    ],
    [
      "pulling and failing here",
      status({ pending: 5, retrying: 2, inSync: false }),
      "syncing",
      ["3 files to bring here", "2 files failing, retrying"],
    ],
    [
      "alone",
      status({ peers: [peer({ connected: false, disconnectedAt: 2_000 })] }),
      "no peers",
      [],
    ],
  ];
  for (const [what, input, state, waiting] of table) {
    const doc = statusDocument(sources, input);
    assertEquals(doc.folder.state, state, what);
    assertEquals(doc.folder.waiting, waiting, what);
    assertEquals(waitingReasons(input), waiting, what);
  }
});

Deno.test("statusDocument() shows a restarted peer once, by its latest session", () => {
  const doc = statusDocument(
    sources,
    status({
      peers: [
        peer({
          id: "1".repeat(64),
          connected: false,
          connectedAt: 100,
          disconnectedAt: 200,
        }),
        peer({ id: "2".repeat(64), connectedAt: 300 }),
        peer({
          id: "3".repeat(64),
          fingerprint: "DDDD-EEEE-FFFF",
          name: "gamma",
          connected: false,
          connectedAt: 50,
          disconnectedAt: 60,
          address: "10.0.0.3:9000",
        }),
      ],
    }),
  );
  assertEquals(doc.peers, [
    {
      name: "beta",
      fingerprint: "AAAA-BBBB-CCCC",
      address: "10.0.0.2:9000",
      connected: true,
      connectedSince: 300,
      disconnectedAt: null,
      indexReceived: true,
      indexSent: true,
      confirmed: true,
      bytesReceived: 10,
      bytesSent: 20,
      bytesSentFromPartial: 0,
      rateIn: 0,
      rateOut: 0,
      holds: null,
    },
    {
      name: "gamma",
      fingerprint: "DDDD-EEEE-FFFF",
      address: "10.0.0.3:9000",
      connected: false,
      connectedSince: 50,
      disconnectedAt: 60,
      indexReceived: true,
      indexSent: true,
      confirmed: true,
      bytesReceived: 10,
      bytesSent: 20,
      bytesSentFromPartial: 0,
      rateIn: 0,
      rateOut: 0,
      holds: null,
    },
  ]);
  assertEquals(doc.folder.state, "in sync");
});

Deno.test("statusRoutes() serves GET /api/status with the group read per request", async () => {
  let group = "GGGG-HHHH";
  const routes = statusRoutes(
    new StatusBuilder({
      ...sources,
      heldBy: () => ({ files: 0, bytes: 0 }),
      recent: () => [],
      conflicts: () => [],
      unreadable: () => [],
      names: () => ({ twins: [["A", "a"]], invisible: [], truncated: false }),
      now: () => 1_000,
      group: () => group,
      status: () =>
        status({
          transfers: [{
            path: "big.iso",
            bytesDone: 5,
            bytesTotal: 9,
            startedAt: 7,
          }],
        }),
    }),
  );
  const route = routes["GET /api/status"]!;
  const context = {
    request: new Request("http://127.0.0.1/"),
    closing: new AbortController().signal,
  };
  const first = await route(undefined, context) as {
    status: number;
    body: unknown;
  };
  assertEquals(first.status, 200);
  const doc = first.body as ReturnType<typeof statusDocument>;
  assertEquals(doc.group, "GGGG-HHHH");
  assertEquals(doc.device, sources.device);
  assertEquals(doc.names.twins, [["A", "a"]]);
  assertEquals(doc.folder.path, "/data/shared");
  assertEquals(doc.transfers, [{
    path: "big.iso",
    done: 5,
    total: 9,
    startedAt: 7,
  }]);
  group = "open";
  const second = await route(undefined, context) as { body: unknown };
  assertEquals((second.body as typeof doc).group, "open");
});

Deno.test("holdsKnown() calls a peer's share exact only once it confirmed our current index", () => {
  const table: [boolean, boolean, string][] = [
    [true, true, "confirmed"],
    [true, false, "confirming"],
    [false, true, "last known"],
    [false, false, "last known"],
  ];
  for (const [connected, confirmed, want] of table) {
    assertEquals(holdsKnown({ connected, confirmed }), want);
  }
});

Deno.test("statusDocument() shows a peer's share as confirming (a lower bound) until it confirms", () => {
  const held = new Map([["00000000000000aa", { files: 1, bytes: 1_000 }]]);
  const pulling = peer({ replica: "00000000000000aa", confirmed: false });
  const doc = statusDocument(
    { ...sources, held },
    status({ peers: [pulling], inSync: false }),
  );
  assertEquals(doc.peers[0]!.holds, {
    files: 1,
    bytes: 1_000,
    percent: 25,
    known: "confirming",
  });
  assertEquals(doc.folder.waiting, ["waiting for beta to finish pulling"]);
  const done = statusDocument(
    {
      ...sources,
      held: new Map([["00000000000000aa", { files: 3, bytes: 4_000 }]]),
    },
    status({ peers: [{ ...pulling, confirmed: true }] }),
  );
  assertEquals(done.peers[0]!.holds?.known, "confirmed");
  assertEquals(done.peers[0]!.holds?.percent, 100);
});
