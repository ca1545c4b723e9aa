import { assertEquals, assertStrictEquals } from "../assert.ts";
import { IndexStore, RemoteIndex } from "../../src/index/mod.ts";
import { ConnectedPeers } from "../../src/sync/peer_directory.ts";
import type { PeerSession } from "../../src/sync/session/mod.ts";

Deno.test("ConnectedPeers.arrive() keeps a peer's intake budget and name reports across its connections", async () => {
  const folder = await Deno.makeTempDir();
  const store = IndexStore.open(folder);
  try {
    const peers = new ConnectedPeers(RemoteIndex.of(store), () => 0);
    const id = new Uint8Array(32).fill(7);
    const first = peers.arrive(id, {});
    const again = peers.arrive(id, { remoteAddr: "127.0.0.1:1" });
    assertStrictEquals(again, first);
    assertStrictEquals(again.intake, first.intake);
    assertStrictEquals(again.names, first.names);
    const other = peers.arrive(new Uint8Array(32).fill(8), {});
    assertStrictEquals(other.intake === first.intake, false);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ConnectedPeers.sourcesOf() names, per path, the peer that announced that version, as sourceOf() does", async () => {
  const folder = await Deno.makeTempDir();
  const store = IndexStore.open(folder);
  try {
    const remote = RemoteIndex.of(store);
    const peers = new ConnectedPeers(remote, () => 0);
    const beta = peers.arrive(new Uint8Array(32).fill(7), {});
    beta.name = "beta";
    beta.replica = (5n).toString(16).padStart(16, "0");
    const gamma = peers.arrive(new Uint8Array(32).fill(8), {});
    gamma.replica = (6n).toString(16).padStart(16, "0");
    const record = (path: string, counter: number) => ({
      path,
      kind: "file" as const,
      size: 1,
      mtimeNs: 0n,
      exec: false,
      hash: new Uint8Array(32),
      chunks: [{ offset: 0, length: 1, hash: new Uint8Array(32) }],
      version: [{ replica: 9n, counter }],
      deleted: false,
      sequence: counter,
    });
    remote.storeBatch(5n, [record("a", 1), record("b", 2)], 2n);
    remote.storeBatch(6n, [record("c", 3)], 3n);
    remote.storeBatch(7n, [record("d", 4)], 4n); // no peer of ours
    const asked = [
      record("a", 1),
      record("b", 1), // another version than beta's
      record("c", 3),
      record("d", 4),
    ];
    const names = peers.sourcesOf(asked);
    assertEquals([...names].sort(), [["a", "beta"], ["c", gamma.fingerprint]]);
    for (const r of asked) {
      assertEquals(names.get(r.path), peers.sourceOf(r));
    }
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ConnectedPeers.sourcesForMany() gives each file the sources sourcesFor() gives, one object per whole holder", async () => {
  const folder = await Deno.makeTempDir();
  const store = IndexStore.open(folder);
  try {
    const remote = RemoteIndex.of(store);
    const peers = new ConnectedPeers(remote, () => 0);
    const join = (fill: number, replica: bigint, open = true) => {
      const peer = peers.arrive(new Uint8Array(32).fill(fill), {});
      peer.replica = replica.toString(16).padStart(16, "0");
      peer.session = {
        open,
        replica,
        requester: { inFlightBytes: fill },
        blocks: { inFlightBytes: 0 },
        state: () => ({ blockDeltas: false }),
        requestChunk: () => Promise.resolve(new Uint8Array(0)),
      } as unknown as PeerSession;
      return peer;
    };
    join(7, 5n);
    join(8, 6n);
    join(9, 7n, false); // closed: never a source
    const record = (path: string, content: number) => ({
      path,
      kind: "file" as const,
      size: 1,
      mtimeNs: 0n,
      exec: false,
      hash: new Uint8Array(32).fill(content),
      chunks: [{
        offset: 0,
        length: 1,
        hash: new Uint8Array(32).fill(content),
      }],
      version: [{ replica: 9n, counter: content }],
      deleted: false,
      sequence: content,
    });
    remote.storeBatch(5n, [record("a", 1), record("b", 2)], 2n);
    remote.storeBatch(6n, [record("a", 1), record("c", 3)], 3n);
    remote.storeBatch(7n, [record("d", 4)], 4n);
    const files = [
      { path: "a", hash: new Uint8Array(32).fill(1) },
      { path: "b", hash: new Uint8Array(32).fill(9) }, // other content
      { path: "c", hash: new Uint8Array(32).fill(3) },
      { path: "d", hash: new Uint8Array(32).fill(4) },
    ];
    const many = peers.sourcesForMany(files);
    const keys = (list: { key: string }[] | undefined) =>
      (list ?? []).map((s) => s.key).sort();
    for (const { path, hash } of files) {
      assertEquals(keys(many.get(path)), keys(peers.sourcesFor(path, hash)));
    }
    assertEquals(many.get("a")!.length, 2);
    assertEquals(many.get("b"), []);
    assertEquals(many.get("d"), []);
    // The holder of "a" and "c" is one source, whose load is read live.
    const c = many.get("c")![0]!;
    assertStrictEquals(many.get("a")!.find((s) => s.key === c.key), c);
    assertEquals(c.load, 8);
    assertEquals(c.holds, undefined);
  } finally {
    store.close();
    await Deno.remove(folder, { recursive: true });
  }
});
