import { assertEquals, assertThrows } from "../assert.ts";
import {
  formatPeerAddress,
  parseGuiAddress,
  parsePeerAddress,
  parsePort,
  UsageError,
} from "../../src/cli/mod.ts";

Deno.test("parsePort() accepts 1 to 65535 and refuses the rest", () => {
  const table: [string, number | null][] = [
    ["1", 1],
    ["9000", 9000],
    ["65535", 65535],
    [" 80 ", 80],
    ["0", null],
    ["65536", null],
    ["-1", null],
    ["90x0", null],
    ["", null],
    ["1e3", null],
    ["123456", null],
  ];
  for (const [input, expected] of table) {
    if (expected === null) {
      assertThrows(() => parsePort(input), UsageError, `"${input.trim()}"`);
    } else {
      assertEquals(parsePort(input), expected, input);
    }
  }
});

Deno.test("parsePeerAddress() parses host:port, IPv4 and [IPv6]:port", () => {
  const table: [string, { hostname: string; port: number }][] = [
    ["alpha:9000", { hostname: "alpha", port: 9000 }],
    ["alpha.local:1", { hostname: "alpha.local", port: 1 }],
    ["192.168.1.20:9000", { hostname: "192.168.1.20", port: 9000 }],
    ["[::1]:9001", { hostname: "::1", port: 9001 }],
    ["[fe80::1%eth0]:9001", { hostname: "fe80::1%eth0", port: 9001 }],
  ];
  for (const [input, expected] of table) {
    const parsed = parsePeerAddress(input);
    assertEquals(parsed, expected, input);
    assertEquals(formatPeerAddress(parsed), input);
  }
});

Deno.test("parsePeerAddress() refuses malformed addresses with the value in the message", () => {
  for (
    const input of [
      "alpha",
      ":9000",
      "alpha:",
      "alpha:0",
      "alpha:99999",
      "alpha:port",
      "::1:9000",
      "[::1]9000",
      "[nothex]:9000",
      "bad host:9000",
      "-alpha:9000",
    ]
  ) {
    assertThrows(
      () => parsePeerAddress(input),
      UsageError,
      `Invalid peer address "${input}"`,
    );
  }
});

Deno.test("parseGuiAddress() takes IPV4:PORT, port 0 for any free one, and refuses the rest in one line", () => {
  assertEquals(parseGuiAddress("127.0.0.1:8385"), {
    hostname: "127.0.0.1",
    port: 8385,
  });
  assertEquals(parseGuiAddress(" 0.0.0.0:0 "), {
    hostname: "0.0.0.0",
    port: 0,
  });
  for (
    const bad of [
      "localhost:8385",
      "127.0.0.1",
      "1.2.3.4:99999",
      "300.1.1.1:80",
      "::1:80",
      "[::1]",
      "[localhost]:80",
      "[1.2.3.4]:80",
      "[::1%lo]:80",
      "[::1]:99999",
      ":80",
    ]
  ) {
    assertThrows(() => parseGuiAddress(bad), UsageError, "--gui");
  }
});

Deno.test("parseGuiAddress() takes [IPV6]:PORT in canonical form", () => {
  assertEquals(parseGuiAddress("[::1]:8385"), { hostname: "::1", port: 8385 });
  assertEquals(parseGuiAddress("[0:0:0:0:0:0:0:1]:0"), {
    hostname: "::1",
    port: 0,
  });
  assertEquals(parseGuiAddress("[::]:8385"), { hostname: "::", port: 8385 });
  assertEquals(parseGuiAddress("[FE80::1]:80"), {
    hostname: "fe80::1",
    port: 80,
  });
});
