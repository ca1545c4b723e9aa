import { assertStrictEquals } from "../assert.ts";
import { IndexStore, RemoteIndex } from "../../src/index/mod.ts";
import { ConnectedPeers } from "../../src/sync/peer_directory.ts";

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
