/**
 * Child process for the mesh end-to-end test: announces a dsync service
 * whose TXT `id` is a key this process made up, pointing at `--port` (a real
 * dsync with another identity listens there). Runs until SIGINT/SIGTERM.
 * Usage: `_false_announcer.ts NAME PORT`
 * @module
 */
import { Identity, peerIdHex } from "../../src/identity/mod.ts";
import { Discovery } from "../../src/discovery/mod.ts";

const [name = "mallory", portText = "0"] = Deno.args;
const claimed = Identity.generate().publicKey;
const discovery = new Discovery({
  name,
  host: `${name}-host`,
  port: Number(portText),
  peerId: claimed,
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
