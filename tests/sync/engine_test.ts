import { Buffer } from "node:buffer";
import { assert, assertEquals } from "../assert.ts";
import { digestBytes } from "../../src/index/file_digest.ts";
import { IgnoreRules } from "../../src/index/ignore_rules.ts";
import { Scanner } from "../../src/index/scanner.ts";
import { IndexStore } from "../../src/index/store.ts";
import { SyncEngine } from "../../src/sync/engine.ts";
import type {
  PeerChannel,
  PeerPool,
  PeerPoolEvents,
} from "../../src/sync/peer_pool.ts";
import { RemoteIndex } from "../../src/index/remote_index.ts";
import { waitFor } from "../_wait.ts";

type Handlers = {
  [K in keyof PeerPoolEvents]: ((e: PeerPoolEvents[K]) => void)[];
};

/** An in-memory pool: `link()` connects two of them like a socket would. */
class FakePool implements PeerPool {
  readonly handlers: Handlers = {
    "peer-connected": [],
    "peer-disconnected": [],
    "message": [],
  };
  constructor(readonly id: Uint8Array) {}

  on<K extends keyof PeerPoolEvents>(
    type: K,
    handler: (event: PeerPoolEvents[K]) => void | Promise<void>,
  ): () => void {
    const list = this.handlers[type] as ((e: PeerPoolEvents[K]) => void)[];
    list.push(handler as (e: PeerPoolEvents[K]) => void);
    return () => list.splice(list.indexOf(handler as never), 1);
  }

  emit<K extends keyof PeerPoolEvents>(type: K, event: PeerPoolEvents[K]) {
    for (
      const h of [...this.handlers[type]] as ((e: PeerPoolEvents[K]) => void)[]
    ) h(event);
  }

  /**
   * Connects two pools. `drop` (by message type byte) loses messages from
   * `a` to `b`, e.g. index batches (2), so `b` never learns `a`'s records.
   */
  static link(a: FakePool, b: FakePool, drop: number[] = []): () => void {
    let open = true;
    const end = () => {
      if (!open) return;
      open = false;
      a.emit("peer-disconnected", { peerId: b.id, reason: { kind: "eof" } });
      b.emit("peer-disconnected", { peerId: a.id, reason: { kind: "eof" } });
    };
    const channel = (from: FakePool, to: FakePool): PeerChannel => ({
      send(message) {
        if (!open) return Promise.reject(new Error("closed"));
        const copy = new Uint8Array(
          Buffer.concat(message instanceof Uint8Array ? [message] : message),
        );
        if (from === a && drop.includes(copy[0]!)) return Promise.resolve();
        setTimeout(() => {
          if (open) to.emit("message", { peerId: from.id, message: copy });
        }, 0);
        return Promise.resolve();
      },
      abort: end,
      remoteAddr: `10.0.0.${to.id[0]}:9000`,
    });
    a.emit("peer-connected", { peerId: b.id, channel: channel(a, b) });
    b.emit("peer-connected", { peerId: a.id, channel: channel(b, a) });
    return end;
  }
}

interface Node {
  dir: string;
  store: IndexStore;
  engine: SyncEngine;
  pool: FakePool;
}

async function node(name: string, id: number): Promise<Node> {
  const dir = await Deno.makeTempDir({ prefix: `dsync_engine_${name}_` });
  const store = IndexStore.open(dir);
  const ignore = await IgnoreRules.load(dir);
  const scanner = new Scanner({
    folder: dir,
    store,
    ignore,
    hasher: {
      hashFile: (p) => Promise.resolve(digestBytes(Deno.readFileSync(p))),
    },
  });
  const engine = new SyncEngine({
    folder: dir,
    store,
    scanner,
    ignore,
    maxConcurrentTransfers: 2,
    name,
  });
  const pool = new FakePool(new Uint8Array(32).fill(id));
  engine.attach(pool);
  return { dir, store, engine, pool };
}

async function dispose(n: Node): Promise<void> {
  await n.engine.close();
  n.store.close();
  await Deno.remove(n.dir, { recursive: true });
}

function until(cond: () => boolean, what: string): Promise<void> {
  return waitFor(cond, what, 10_000, 5);
}

Deno.test("SyncEngine syncs two folders and reports them in sync", async () => {
  const a = await node("alpha", 1);
  const b = await node("beta", 2);
  try {
    await Deno.mkdir(`${a.dir}/sub`);
    await Deno.writeTextFile(`${a.dir}/sub/one.txt`, "one");
    await Deno.writeTextFile(`${b.dir}/two.txt`, "two");
    await a.engine.scan("full");
    await b.engine.scan("full");
    const end = FakePool.link(a.pool, b.pool);
    await until(() => {
      const sa = a.engine.status();
      const sb = b.engine.status();
      return sa.inSync && sb.inSync && sa.totals.files === 2 &&
        sb.totals.files === 2;
    }, "in sync");
    assertEquals(await Deno.readTextFile(`${b.dir}/sub/one.txt`), "one");
    assertEquals(await Deno.readTextFile(`${a.dir}/two.txt`), "two");
    const status = a.engine.status();
    assertEquals(status.peers.length, 1);
    assertEquals(status.peers[0]!.name, "beta");
    assertEquals(status.peers[0]!.connected, true);
    assertEquals(status.peers[0]!.initialSyncDone, true);
    assertEquals(status.pending, 0);
    assert(status.bytesReceived > 0);

    // A live change: scan, then push.
    await Deno.writeTextFile(`${b.dir}/sub/one.txt`, "one, edited");
    await b.engine.scan(["sub/one.txt"]);
    await until(() => {
      try {
        return Deno.readTextFileSync(`${a.dir}/sub/one.txt`) === "one, edited";
      } catch {
        return false;
      }
    }, "edit arrives");
    end();
    await until(() => !a.engine.status().peers[0]!.connected, "disconnected");
    // No peer and nothing pending: in sync, once the last apply settles.
    await until(() => a.engine.status().inSync, "in sync alone");
  } finally {
    await dispose(a);
    await dispose(b);
  }
});

Deno.test("SyncEngine brings back a peer's concurrent edit when the local copy that won is deleted", async () => {
  const a = await node("alpha", 1);
  const g = await node("gamma", 3);
  try {
    await a.engine.scan("full");
    await g.engine.scan("full");
    // Concurrent edits; alpha's is newer, so gamma's waits (gamma keeps the
    // losing copy, alpha does nothing).
    await Deno.writeTextFile(`${g.dir}/doc.txt`, "gamma's edit");
    await Deno.utime(`${g.dir}/doc.txt`, 1_700_000_000, 1_700_000_000);
    await g.engine.scan(["doc.txt"]);
    await Deno.writeTextFile(`${a.dir}/doc.txt`, "alpha's edit");
    await a.engine.scan(["doc.txt"]);
    // Gamma never hears of alpha's edit (its index batches are lost), as
    // when a third peer relays only alpha's later delete.
    FakePool.link(a.pool, g.pool, [2]);
    const remote = RemoteIndex.of(a.store);
    await until(
      () => remote.recordsFor("doc.txt").length > 0,
      "alpha holds gamma's record",
    );
    await until(() => a.engine.status().pending === 0, "alpha settled");
    assertEquals(await Deno.readTextFile(`${a.dir}/doc.txt`), "alpha's edit");
    // The user deletes alpha's copy: gamma's concurrent edit beats that delete.
    await Deno.remove(`${a.dir}/doc.txt`);
    await a.engine.scan(["doc.txt"]);
    await until(() => {
      try {
        return Deno.readTextFileSync(`${a.dir}/doc.txt`) === "gamma's edit";
      } catch {
        return false;
      }
    }, "gamma's edit is back on alpha");
  } finally {
    await dispose(a);
    await dispose(g);
  }
});

Deno.test("SyncEngine.status() tells per peer: address, index both ways, confirmation, bytes", async () => {
  const a = await node("alpha", 1);
  const b = await node("beta", 2);
  try {
    // Identical content: neither side has anything to pull, and each must
    // still learn that the other holds its index.
    for (const n of [a, b]) {
      await Deno.writeTextFile(`${n.dir}/same.txt`, "same");
      await n.engine.scan("full");
    }
    const before = Date.now();
    const end = FakePool.link(a.pool, b.pool);
    await until(() =>
      [a, b].every((n) => {
        const p = n.engine.status().peers[0];
        return p !== undefined && p.indexReceived && p.indexAcked &&
          p.confirmed;
      }), "both confirmed");
    const peer = a.engine.status().peers[0]!;
    assertEquals(peer.address, "10.0.0.2:9000");
    assertEquals(peer.disconnectedAt, undefined);
    assert(peer.connectedAt >= before, "connectedAt is the link's start");

    // A change on beta: alpha acks it at once, but beta learns that alpha
    // holds it only once alpha has pulled it.
    await Deno.writeTextFile(`${b.dir}/new.txt`, "x".repeat(100_000));
    await b.engine.scan(["new.txt"]);
    await until(() => {
      const p = b.engine.status().peers[0]!;
      return a.engine.status().totals.files === 2 && p.confirmed;
    }, "pulled and confirmed");
    assert(b.engine.status().peers[0]!.bytesSent > 0, "bytes sent counted");
    assert(
      a.engine.status().peers[0]!.bytesReceived > 0,
      "bytes received counted",
    );

    end();
    await until(() => !a.engine.status().peers[0]!.connected, "disconnected");
    const gone = a.engine.status().peers[0]!;
    assert(gone.disconnectedAt !== undefined, "disconnectedAt set");
    assertEquals(gone.confirmed, false);
    assert(gone.bytesReceived > 0, "bytes kept after the session ended");
  } finally {
    await dispose(a);
    await dispose(b);
  }
});

Deno.test("SyncEngine pulls nothing and is not in sync before its first full scan", async () => {
  const a = await node("alpha", 1);
  const b = await node("beta", 2);
  try {
    await Deno.writeTextFile(`${a.dir}/f.txt`, "content");
    await a.engine.scan("full");
    FakePool.link(a.pool, b.pool);
    await until(() => {
      const peers = b.engine.status().peers;
      return peers.length === 1 && peers[0]!.initialSyncDone;
    }, "index exchanged");
    // b's own folder is not indexed yet: a file here might be the same one.
    const before = b.engine.status();
    assert(before.indexing);
    assert(!before.inSync);
    assertEquals(before.transfers.length, 0);
    await assertRejectsNotFound(`${b.dir}/f.txt`);
    await b.engine.scan("full");
    await until(() => {
      const s = b.engine.status();
      return s.inSync && s.totals.files === 1;
    }, "pulled and in sync");
    assertEquals(b.engine.status().indexing, false);
    assertEquals(await Deno.readTextFile(`${b.dir}/f.txt`), "content");
  } finally {
    await dispose(a);
    await dispose(b);
  }
});

async function assertRejectsNotFound(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  throw new Error(`${path} exists`);
}

Deno.test("SyncEngine.isEcho() recognizes its own writes only", async () => {
  const a = await node("alpha", 1);
  const b = await node("beta", 2);
  try {
    await Deno.writeTextFile(`${a.dir}/f.txt`, "content");
    await a.engine.scan("full");
    await b.engine.scan("full");
    FakePool.link(a.pool, b.pool);
    await until(() => b.engine.status().totals.files === 1, "pulled");
    await until(() => b.engine.status().inSync, "in sync");
    assert(b.engine.isEcho("f.txt"));
    await Deno.writeTextFile(`${b.dir}/f.txt`, "user edit!");
    assert(!b.engine.isEcho("f.txt"));
    assert(!a.engine.isEcho("f.txt"));
  } finally {
    await dispose(a);
    await dispose(b);
  }
});
