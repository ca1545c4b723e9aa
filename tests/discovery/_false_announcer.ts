/**
 * Child process for the mesh end-to-end test: announces a dsync service
 * whose TXT `id` is a key this process made up, pointing at `--port` (a real
 * dsync with another identity listens there). With a group secret (hex) it
 * also announces that group's tag for the false id, as a member lying about
 * its id would. Runs until SIGINT/SIGTERM.
 * Usage: `_false_announcer.ts NAME PORT [GROUP_SECRET_HEX]`
 * @module
 */
import { Identity, peerIdHex } from "../../src/identity/mod.ts";
import { GroupSecret, groupTag } from "../../src/group/mod.ts";
import { Discovery } from "../../src/discovery/mod.ts";

const [name = "mallory", portText = "0", groupHex] = Deno.args;
const claimed = Identity.generate().publicKey;
const group = groupHex === undefined ? undefined : GroupSecret.fromBytes(
  Uint8Array.from(groupHex.match(/../g) ?? [], (b) => parseInt(b, 16)),
);
const discovery = new Discovery({
  name,
  host: `${name}-host`,
  port: Number(portText),
  peerId: claimed,
  ...(group === undefined
    ? {}
    : { announcement: () => ({ tag: groupTag(group, claimed) }) }),
});
discovery.start();
console.log(`Announcing ${name} with false id ${peerIdHex(claimed)}`);
const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => stop.abort());
}
await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
await discovery.close();
Deno.exit(0);
