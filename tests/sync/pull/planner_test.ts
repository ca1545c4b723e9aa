import type { FileRecord } from "../../../src/index/file_record.ts";
import { blake3 } from "../../../src/index/hash.ts";
import {
  compare,
  EMPTY_VERSION,
  versionOf,
  type VersionVector,
} from "../../../src/index/version_vector.ts";
import {
  applyRemote,
  conflictWinner,
  identicalContent,
  lastModifier,
  plan,
} from "../../../src/sync/pull/planner.ts";
import {
  type Action,
  mergedRecord,
  mergedVersion,
} from "../../../src/sync/apply/action.ts";
import { assert, assertEquals, assertThrows } from "../../assert.ts";

const A = 0xaaaan;
const B = 0xbbbbn;
const C = 0xccccn;
const CTX = { localReplica: A };
const T1 = 1_700_000_000_000_000_000n;
const T2 = 1_700_000_100_000_000_000n;
const enc = new TextEncoder();

type V = [bigint, number][];

function v(entries: V): VersionVector {
  return versionOf(entries);
}

function file(
  content: string,
  version: V,
  opts: { mtime?: bigint; exec?: boolean } = {},
): FileRecord {
  const bytes = enc.encode(content);
  return {
    path: "p",
    kind: "file",
    size: bytes.length,
    mtimeNs: opts.mtime ?? T1,
    exec: opts.exec ?? false,
    hash: blake3(bytes),
    chunks: [{ offset: 0, length: bytes.length, hash: blake3(bytes) }],
    version: v(version),
    deleted: false,
    sequence: 1,
  };
}

function dir(version: V, mtime = T1): FileRecord {
  return {
    path: "p",
    kind: "dir",
    size: 0,
    mtimeNs: mtime,
    exec: false,
    hash: new Uint8Array(0),
    chunks: [],
    version: v(version),
    deleted: false,
    sequence: 1,
  };
}

/** A symlink; `size` differs between scanner (target length) and wire (0). */
function link(target: string, version: V, size = 0, mtime = T1): FileRecord {
  return {
    path: "p",
    kind: "symlink",
    size,
    mtimeNs: mtime,
    exec: false,
    hash: blake3(enc.encode(target)),
    chunks: [],
    version: v(version),
    deleted: false,
    sequence: 1,
    symlinkTarget: target,
  };
}

function tomb(
  version: V,
  kind: FileRecord["kind"] = "file",
  mtime = T1,
): FileRecord {
  return {
    path: "p",
    kind,
    size: 0,
    mtimeNs: mtime,
    exec: false,
    hash: new Uint8Array(0),
    chunks: [],
    version: v(version),
    deleted: true,
    sequence: 1,
  };
}

const NOTHING: Action = { kind: "nothing" };
const PULL: Action = { kind: "pull" };
const METADATA: Action = { kind: "metadata" };
const MKDIR: Action = { kind: "mkdir" };
const SYMLINK: Action = { kind: "symlink" };
const DELETE: Action = { kind: "delete" };
const MERGE: Action = { kind: "merge-version" };
const LOCAL_WINS: Action = { kind: "conflict", winner: "local" };
const REMOTE_WINS: Action = { kind: "conflict", winner: "remote" };

const ROWS: [string, FileRecord | undefined, FileRecord, Action][] = [
  // No local record.
  ["new file", undefined, file("x", [[B, 1]]), PULL],
  ["new dir", undefined, dir([[B, 1]]), MKDIR],
  ["new symlink", undefined, link("t", [[B, 1]]), SYMLINK],
  [
    "tombstone of a path never had: record it",
    undefined,
    tomb([[B, 2]]),
    MERGE,
  ],
  // Remote dominates.
  ["newer content", file("x", [[A, 1]]), file("y", [[A, 1], [B, 1]]), PULL],
  [
    "same bytes, exec changed",
    file("x", [[A, 1]]),
    file("x", [[A, 1], [B, 1]], { exec: true }),
    METADATA,
  ],
  [
    "same bytes, mtime changed",
    file("x", [[A, 1]]),
    file("x", [[A, 1], [B, 1]], { mtime: T2 }),
    METADATA,
  ],
  [
    "same bytes and metadata: adopt the version",
    file("x", [[A, 1]]),
    file("x", [[A, 1], [B, 1]]),
    MERGE,
  ],
  ["remote delete", file("x", [[A, 1]]), tomb([[A, 1], [B, 1]]), DELETE],
  [
    "remote delete of a deleted path",
    tomb([[A, 2]]),
    tomb([[A, 2], [B, 1]]),
    MERGE,
  ],
  ["dir over dir", dir([[A, 1]]), dir([[A, 1], [B, 1]]), MERGE],
  ["dir replaces file", file("x", [[A, 1]]), dir([[A, 1], [B, 1]]), MKDIR],
  ["file replaces dir", dir([[A, 1]]), file("x", [[A, 1], [B, 1]]), PULL],
  [
    "symlink, same target (sizes differ)",
    link("t", [[A, 1]], 1),
    link("t", [[A, 1], [B, 1]], 0),
    MERGE,
  ],
  [
    "symlink, new target",
    link("t", [[A, 1]]),
    link("u", [[A, 1], [B, 1]]),
    SYMLINK,
  ],
  [
    "symlink replaces file",
    file("x", [[A, 1]]),
    link("t", [[A, 1], [B, 1]]),
    SYMLINK,
  ],
  [
    "re-created after delete",
    tomb([[A, 2]]),
    file("x", [[A, 2], [B, 1]]),
    PULL,
  ],
  ["dir re-created after delete", tomb([[A, 2]]), dir([[A, 2], [B, 1]]), MKDIR],
  // Local dominates or equal.
  ["remote older", file("y", [[A, 2]]), file("x", [[A, 1]]), NOTHING],
  ["remote older tombstone", file("y", [[A, 2]]), tomb([[A, 1]]), NOTHING],
  [
    "equal versions",
    file("x", [[A, 1], [B, 1]]),
    file("x", [[A, 1], [B, 1]]),
    NOTHING,
  ],
  [
    "equal versions, other content (impossible; stay put)",
    file("x", [[A, 1]]),
    file("y", [[A, 1]]),
    NOTHING,
  ],
  // Concurrent, same content.
  ["concurrent identical", file("x", [[A, 1]]), file("x", [[B, 1]]), MERGE],
  [
    "concurrent identical, other mtime",
    file("x", [[A, 1]], { mtime: T2 }),
    file("x", [[B, 1]]),
    MERGE,
  ],
  [
    "concurrent deletes of different kinds",
    tomb([[A, 2]], "file"),
    tomb([[B, 2]], "dir"),
    MERGE,
  ],
  ["concurrent dirs", dir([[A, 1]]), dir([[B, 1]], T2), MERGE],
  [
    "concurrent identical symlinks",
    link("t", [[A, 1]], 1),
    link("t", [[B, 1]]),
    MERGE,
  ],
  // Concurrent, different content: conflicts.
  [
    "conflict, remote newer",
    file("x", [[A, 2]]),
    file("y", [[A, 1], [B, 1]], { mtime: T2 }),
    REMOTE_WINS,
  ],
  [
    "conflict, local newer",
    file("x", [[A, 2]], { mtime: T2 }),
    file("y", [[A, 1], [B, 1]]),
    LOCAL_WINS,
  ],
  [
    "conflict, mtime tie, remote modifier B > A",
    file("x", [[A, 2]]),
    file("y", [[A, 1], [B, 1]]),
    REMOTE_WINS,
  ],
  [
    "conflict, mtime tie, local modifier C > B",
    file("x", [[A, 1], [C, 1]]),
    file("y", [[A, 1], [B, 1]]),
    LOCAL_WINS,
  ],
  [
    "conflict, mtime tie, modifier by highest unseen counter",
    file("x", [[A, 5], [C, 1]]),
    file("y", [[A, 1], [B, 2]]),
    REMOTE_WINS, // local's unseen: A:5 and C:1, so A; remote's: B; B > A
  ],
  [
    "conflict, dir vs file",
    dir([[A, 1]]),
    file("x", [[B, 1]], { mtime: T2 }),
    REMOTE_WINS,
  ],
  [
    "conflict, symlink targets",
    link("t", [[A, 1]], 1, T2),
    link("u", [[B, 1]]),
    LOCAL_WINS,
  ],
  // Edit vs delete: the edit wins, whatever the mtimes.
  [
    "local delete vs remote edit",
    tomb([[A, 2]], "file", T2),
    file("y", [[A, 1], [B, 1]]),
    PULL,
  ],
  [
    "local delete vs remote new dir",
    tomb([[A, 2]], "dir", T2),
    dir([[A, 1], [B, 1]]),
    MKDIR,
  ],
  [
    "local delete vs remote symlink",
    tomb([[A, 2]], "file", T2),
    link("t", [[B, 1]]),
    SYMLINK,
  ],
  [
    "local edit vs remote delete",
    file("y", [[A, 2]]),
    tomb([[A, 1], [B, 1]], "file", T2),
    NOTHING,
  ],
  // Concurrent exec-only changes: no copy, the winner's bit.
  [
    "concurrent exec change, remote newer",
    file("x", [[A, 2]]),
    file("x", [[A, 1], [B, 1]], { exec: true, mtime: T2 }),
    METADATA,
  ],
  [
    "concurrent exec change, local newer",
    file("x", [[A, 2]], { mtime: T2 }),
    file("x", [[A, 1], [B, 1]], { exec: true }),
    NOTHING,
  ],
  // Index lost: a provisional local record (empty vector) is concurrent.
  [
    "unindexed local file vs older-looking remote: conflict, not overwrite",
    file("mine", [], { mtime: T2 }),
    file("theirs", [[B, 9]]),
    LOCAL_WINS,
  ],
  [
    "unindexed local file vs newer remote: conflict keeps a copy",
    file("mine", []),
    file("theirs", [[B, 9]], { mtime: T2 }),
    REMOTE_WINS,
  ],
  [
    "unindexed local file vs remote delete: never delete",
    file("mine", []),
    tomb([[B, 9]]),
    NOTHING,
  ],
  [
    "unindexed local file identical to remote",
    file("same", []),
    file("same", [[B, 9]]),
    MERGE,
  ],
  [
    "unindexed local file, mtime tie: modifier is this replica (A) vs B",
    file("mine", []),
    file("theirs", [[B, 1]]),
    REMOTE_WINS,
  ],
  ["unindexed local dir vs remote dir", dir([]), dir([[B, 1]]), MERGE],
];

for (const [name, local, remote, expected] of ROWS) {
  Deno.test(`plan() ${name}`, () => {
    assertEquals(plan(local, remote, CTX), expected);
  });
}

Deno.test("plan() ties go to the larger replica id of the last modifier", () => {
  // Local's unseen change is A's 5th, remote's is B's 2nd: B > A wins the tie.
  const local = file("x", [[A, 5], [C, 1]]);
  const remote = file("y", [[A, 1], [B, 2]]);
  assertEquals(lastModifier(local.version, remote.version), A);
  assertEquals(lastModifier(remote.version, local.version), B);
  assertEquals(conflictWinner(local, remote, CTX), "remote");
});

Deno.test("plan() refuses records of different paths", () => {
  assertThrows(
    () => plan({ ...file("x", [[A, 1]]), path: "q" }, file("x", [[B, 1]]), CTX),
    RangeError,
  );
});

Deno.test("lastModifier() picks the highest unseen counter, ties by replica id", () => {
  assertEquals(lastModifier(v([[A, 3], [C, 2]]), v([[A, 2], [B, 5]])), A);
  assertEquals(lastModifier(v([[A, 2], [B, 5]]), v([[A, 3], [C, 2]])), B);
  assertEquals(lastModifier(v([[A, 2], [C, 2]]), v([])), C);
  assertEquals(lastModifier(v([[A, 1]]), v([[A, 1], [B, 1]])), undefined);
  assertEquals(lastModifier(EMPTY_VERSION, v([[A, 1]])), undefined);
});

Deno.test("mergedVersion() and mergedRecord() keep the local content with both histories", () => {
  const local = file("x", [[A, 2]], { mtime: T2 });
  const remote = file("x", [[A, 1], [B, 3]]);
  assertEquals(mergedVersion(local, remote), v([[A, 2], [B, 3]]));
  assertEquals(mergedVersion(undefined, remote), remote.version);
  const merged = mergedRecord(local, remote);
  assertEquals(merged.version, v([[A, 2], [B, 3]]));
  assertEquals(merged.mtimeNs, T2);
  assertEquals(merged.hash, local.hash);
  const t = tomb([[B, 1]]);
  assertEquals(mergedRecord(undefined, t), t);
});

Deno.test("applyRemote() ignores versions and makes the disk hold the remote", () => {
  assertEquals(applyRemote(undefined, file("x", [[B, 1]])), PULL);
  assertEquals(applyRemote(file("x", [[A, 9]]), file("x", [[B, 1]])), MERGE);
  assertEquals(applyRemote(undefined, tomb([[B, 1]])), MERGE);
  assertEquals(applyRemote(link("t", []), link("t", [[B, 1]])), MERGE);
});

// ---- Symmetry over many pairs -------------------------------------------

const VERSIONS: V[] = [
  [[A, 1]],
  [[A, 2]],
  [[B, 1]],
  [[A, 1], [B, 1]],
  [[A, 2], [B, 1]],
  [[A, 1], [B, 2]],
  [[A, 1], [C, 1]],
  [[B, 1], [C, 3]],
];

function variants(version: V): FileRecord[] {
  return [
    file("x", version),
    file("x", version, { mtime: T2 }),
    file("x", version, { exec: true }),
    file("y", version),
    file("y", version, { mtime: T2 }),
    dir(version),
    dir(version, T2),
    link("t", version),
    link("u", version, 0, T2),
    tomb(version),
    tomb(version, "dir", T2),
  ];
}

const POOL: FileRecord[] = VERSIONS.flatMap(variants);

/** What a replica holds after carrying out `action` (the content it ends up with). */
function finalContent(
  own: FileRecord,
  other: FileRecord,
  action: Action,
): FileRecord {
  switch (action.kind) {
    case "nothing":
    case "merge-version":
      return own;
    case "conflict":
      return action.winner === "local" ? own : other;
    default:
      return other;
  }
}

Deno.test("plan() on both replicas agrees on the outcome for every pair", () => {
  let pairs = 0;
  let conflicts = 0;
  for (const a of POOL) {
    for (const b of POOL) {
      const order = compare(a.version, b.version);
      if (order === "equal" && !identicalContent(a, b)) continue; // cannot happen
      const onA = plan(a, b, { localReplica: A });
      const onB = plan(b, a, { localReplica: B });
      const what = `${JSON.stringify(onA)} / ${JSON.stringify(onB)} for ${
        describe(a)
      } vs ${describe(b)}`;
      pairs++;
      // Both end with the same content.
      assert(
        identicalContent(finalContent(a, b, onA), finalContent(b, a, onB)),
        `diverge: ${what}`,
      );
      if (onA.kind === "conflict" || onB.kind === "conflict") {
        conflicts++;
        assertEquals(onA.kind, "conflict", what);
        assertEquals(onB.kind, "conflict", what);
        assert(
          onA.kind === "conflict" && onB.kind === "conflict" &&
            onA.winner !== onB.winner,
          `winners disagree: ${what}`,
        );
      }
      if (order === "concurrent") {
        // No data loss: live local content is only replaced by identical
        // bytes (metadata) or through a conflict copy.
        for (const [local, action] of [[a, onA], [b, onB]] as const) {
          if (!local.deleted) {
            assert(
              !["pull", "symlink", "mkdir", "delete"].includes(action.kind),
              `would lose ${describe(local)}: ${what}`,
            );
          }
        }
        // A delete never wins against an edit.
        if (a.deleted !== b.deleted) {
          const live = a.deleted ? b : a;
          const endA = finalContent(a, b, onA);
          assert(identicalContent(endA, live), `delete won: ${what}`);
        }
      }
    }
  }
  assert(pairs > 5000, `only ${pairs} pairs`);
  assert(conflicts > 100, `only ${conflicts} conflicts`);
});

Deno.test("conflictWinner() is antisymmetric over the pool", () => {
  for (const a of POOL) {
    for (const b of POOL) {
      if (compare(a.version, b.version) !== "concurrent") continue;
      if (identicalContent(a, b)) continue;
      const w1 = conflictWinner(a, b, CTX);
      const w2 = conflictWinner(b, a, CTX);
      assert(w1 !== w2, `${describe(a)} vs ${describe(b)}: ${w1} and ${w2}`);
    }
  }
});

function describe(r: FileRecord): string {
  const what = r.deleted
    ? `tombstone(${r.kind})`
    : r.kind === "symlink"
    ? `link→${r.symlinkTarget}`
    : r.kind === "dir"
    ? "dir"
    : `file#${r.hash[0]}${r.exec ? "+x" : ""}`;
  const version = r.version.map((e) => `${e.replica.toString(16)}:${e.counter}`)
    .join(",");
  return `${what}@${r.mtimeNs === T1 ? "t1" : "t2"}{${version}}`;
}
