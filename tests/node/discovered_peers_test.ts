import { assertEquals } from "../assert.ts";
import { dialAddress } from "../../src/node/discovered_peers.ts";

Deno.test("dialAddress() prefers IPv4, falls back to IPv6, and gives up on none", () => {
  const peer = (addresses: string[]) => ({
    id: new Uint8Array(32),
    name: "p",
    addresses,
    port: 9000,
    tag: undefined,
    joinable: false,
  });
  assertEquals(dialAddress(peer(["fd00::1", "10.0.0.2"])), "10.0.0.2");
  assertEquals(dialAddress(peer(["fd00::1"])), "fd00::1");
  assertEquals(dialAddress(peer([])), undefined);
});
