import { assertEquals } from "../assert.ts";
import { isLoopbackPeer } from "../../src/compress/loopback_peer.ts";

Deno.test("isLoopbackPeer() knows loopback addresses as the transport formats them", () => {
  const table: [string | undefined, boolean][] = [
    ["127.0.0.1:22000", true],
    ["127.1.2.3:1", true],
    ["[::1]:22000", true],
    ["[::ffff:127.0.0.1]:22000", true],
    ["localhost:22000", true],
    ["LOCALHOST:22000", true],
    ["::1", true],
    ["127.0.0.1", true],
    ["10.0.0.2:22000", false],
    ["192.168.1.10:22000", false],
    ["[fe80::1]:22000", false],
    ["[::ffff:10.0.0.1]:22000", false],
    ["128.0.0.1:22000", false],
    ["127.0.0.256:1", false],
    ["127.0.0:1", false],
    ["host.local:22000", false],
    ["unknown", false],
    ["", false],
    [undefined, false],
  ];
  for (const [addr, expected] of table) {
    assertEquals(isLoopbackPeer(addr), expected, String(addr));
  }
});
