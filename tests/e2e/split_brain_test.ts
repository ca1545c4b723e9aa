/**
 * Point 1 of issue #19: a hostile peer gives V a version of `shared.txt`
 * whose counter for L's replica is 2^52 + 5. L used to refuse it (its own
 * counter, never issued) while V took it, and after the attacker left
 * their edits never crossed again. Now every device applies the same bound
 * to every replica's counter: V refuses the record too, and once the
 * attacker is gone both honest devices' edits reach each other.
 *
 * A counter of exactly 2^52 is valid, so every device takes it; L's next
 * edit used to need 2^52 + 1, refused by every peer, and L's edits of that
 * path never left it. Now L counts past the bound under its overflow id.
 * @module
 */
import { assert } from "../assert.ts";
import { HonestPair } from "./_honest_pair.ts";
import { HostilePeer } from "./_hostile_peer.ts";
import { waitFor } from "../_wait.ts";

const encoder = new TextEncoder();

async function contentOf(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

Deno.test("split brain: a counter far ahead for another replica is refused by every device, and the honest two converge after the attacker leaves", async () => {
  await using pair = await HonestPair.start("dsync-split-", {
    path: "shared.txt",
    text: "first\n",
  });
  const { root, ports: { l: portL, v: portV } } = pair;
  const v = pair.proc("v");
  // Learn L's replica id the way any peer does: from its hello.
  const spy = await HostilePeer.start(portL);
  const replicaL = (await spy.hello()).replicaId;
  await spy.close();

  // Poison V: L's counter far ahead, content only the attacker serves.
  const hostile = await HostilePeer.start(portV);
  const evil = encoder.encode("poisoned\n");
  await hostile.announce("shared.txt", evil, "correct", {
    // Entries in increasing replica order, as the codec requires.
    version: [
      { replica: replicaL, counter: (1n << 52n) + 5n },
      { replica: hostile.replicaId, counter: 1n },
    ].sort((a, b) => (a.replica < b.replica ? -1 : 1)),
  });
  await v.waitForOutput(/shared\.txt.*out of range/);
  await hostile.close();
  assert(
    await contentOf(`${root}/v/shared.txt`) === "first\n",
    "v kept its copy",
  );

  // The attacker is gone: edits cross both ways, each within 10 s.
  await Deno.writeTextFile(`${root}/l/shared.txt`, "edited on l\n");
  await waitFor(
    async () => await contentOf(`${root}/v/shared.txt`) === "edited on l\n",
    "l's edit to reach v",
    10_000,
  );
  await Deno.writeTextFile(`${root}/v/shared.txt`, "edited on v\n");
  await waitFor(
    async () => await contentOf(`${root}/l/shared.txt`) === "edited on v\n",
    "v's edit to reach l",
    10_000,
  );
});

Deno.test("split brain: a counter of exactly 2^52 for another replica (accepted everywhere) does not stop that replica's edits", async () => {
  await using pair = await HonestPair.start("dsync-split52-", {
    path: "shared.txt",
    text: "first\n",
  });
  const { root, ports: { l: portL, v: portV } } = pair;
  const v = pair.proc("v");
  const spy = await HostilePeer.start(portL);
  const replicaL = (await spy.hello()).replicaId;
  await spy.close();

  // L's counter at the bound itself: valid, so every device takes it.
  const hostile = await HostilePeer.start(portV);
  await hostile.announce(
    "shared.txt",
    encoder.encode("poisoned\n"),
    "correct",
    {
      version: [
        { replica: replicaL, counter: 1n << 52n },
        { replica: hostile.replicaId, counter: 1n },
      ].sort((a, b) => (a.replica < b.replica ? -1 : 1)),
    },
  );
  await waitFor(
    async () => await contentOf(`${root}/l/shared.txt`) === "poisoned\n",
    "the record at the bound to reach l through v",
    20_000,
  );
  await hostile.close();

  // L's next edit must not need a counter past the bound.
  await Deno.writeTextFile(`${root}/l/shared.txt`, "edited on l\n");
  await waitFor(
    async () => await contentOf(`${root}/v/shared.txt`) === "edited on l\n",
    () => `l's edit to reach v; v said:\n${v.output.slice(-1500)}`,
    10_000,
  );
  await Deno.writeTextFile(`${root}/v/shared.txt`, "edited on v\n");
  await waitFor(
    async () => await contentOf(`${root}/l/shared.txt`) === "edited on v\n",
    "v's edit to reach l",
    10_000,
  );
});
