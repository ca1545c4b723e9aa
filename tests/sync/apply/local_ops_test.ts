/**
 * Local operations that change the index without a pull keep the rule that
 * every stored change carries its own counter.
 * @module
 */
import { assertEquals } from "../../assert.ts";
import { digestBytes } from "../../../src/index/file_digest.ts";
import type { FileRecord } from "../../../src/index/file_record.ts";
import { IgnoreRules } from "../../../src/index/ignore_rules.ts";
import { Scanner } from "../../../src/index/scanner.ts";
import { IndexStore } from "../../../src/index/store.ts";
import { bump, compare, counterOf } from "../../../src/index/version_vector.ts";
import { ApplyGate } from "../../../src/sync/apply/apply_gate.ts";
import { EchoFilter } from "../../../src/sync/apply/echo_filter.ts";
import { clearDirectoryForFile } from "../../../src/sync/apply/local_ops.ts";
import { plan } from "../../../src/sync/pull/planner.ts";

const PEER = 0xabcdefn;

Deno.test("clearing a directory for a peer's file stores a tombstone under a new local counter", async () => {
  const dir = await Deno.makeTempDir();
  const store = IndexStore.open(dir);
  try {
    await Deno.mkdir(`${dir}/was-dir`);
    const scanner = new Scanner({
      folder: dir,
      store,
      ignore: await IgnoreRules.load(dir),
      hasher: {
        hashFile: (p) => Promise.resolve(digestBytes(Deno.readFileSync(p))),
      },
    });
    await scanner.scan();
    const live = store.get("was-dir")!;
    assertEquals(live.kind, "dir");
    const data = new TextEncoder().encode("now a file");
    const digest = digestBytes(data);
    const remote: FileRecord = {
      path: "was-dir",
      kind: "file",
      size: data.length,
      mtimeNs: 1_600_000_000_000n * 1_000_000n,
      exec: false,
      hash: digest.hash,
      chunks: digest.chunks,
      version: bump(live.version, PEER),
      deleted: false,
      sequence: 1,
    };
    const ctx = { localReplica: store.replicaId };
    const outcome = await clearDirectoryForFile(
      { folder: dir, store, gate: new ApplyGate(), echo: new EchoFilter() },
      {
        path: "was-dir",
        local: live,
        remote,
        action: plan(live, remote, ctx),
        more: false,
      },
    );
    assertEquals(outcome, "removed");
    const tombstone = store.get("was-dir")!;
    assertEquals(tombstone.deleted, true);
    // Never the live directory's version: a peer that still holds the
    // directory must see the removal as newer.
    assertEquals(compare(tombstone.version, live.version), "greater");
    assertEquals(
      counterOf(tombstone.version, store.replicaId),
      counterOf(live.version, store.replicaId) + 1,
    );
    // The peer's file still wins here: an edit beats a delete.
    assertEquals(plan(tombstone, remote, ctx).kind, "pull");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
