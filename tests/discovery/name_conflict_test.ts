import { assert, assertEquals } from "../assert.ts";
import {
  claimOf,
  renamedLabel,
  winsTie,
} from "../../src/discovery/name_conflict.ts";
import { buildServiceRecords } from "../../src/discovery/service_records.ts";
import { Identity, peerIdHex } from "../../src/identity/mod.ts";

Deno.test("renamedLabel() counts up in parentheses and keeps 63 bytes", () => {
  const cases: [string, string][] = [
    ["laptop", "laptop (2)"],
    ["laptop (2)", "laptop (3)"],
    ["laptop (9)", "laptop (10)"],
    ["my (old) box", "my (old) box (2)"],
    ["x (y)", "x (y) (2)"],
    ["", "dsync (2)"],
  ];
  for (const [from, to] of cases) assertEquals(renamedLabel(from), to, from);
  const long = "é".repeat(40);
  const renamed = renamedLabel(long);
  assert(renamed.endsWith(" (2)"));
  assert(new TextEncoder().encode(renamed).length <= 63, renamed);
  assertEquals(renamedLabel(renamed), renamed.replace(" (2)", " (3)"));
});

Deno.test("claimOf() tells our records from another holder's", () => {
  const me = Identity.generate().publicKey;
  const other = Identity.generate().publicKey;
  const records = (id: Uint8Array, ttl?: number) =>
    buildServiceRecords({
      name: "laptop",
      host: "h",
      port: 1,
      peerId: id,
      ipv4: [],
      ipv6: [],
    }, ttl);
  const name = "laptop._dsync._tcp.local";
  const mine = peerIdHex(me);
  assertEquals(claimOf([records(me)], name, mine), { kind: "none" });
  assertEquals(claimOf([records(other)], name, mine), {
    kind: "other",
    id: peerIdHex(other),
  });
  // Case-insensitive names; a goodbye is no claim; other names are none.
  assertEquals(claimOf([records(other)], "LAPTOP._dsync._tcp.local", mine), {
    kind: "other",
    id: peerIdHex(other),
  });
  assertEquals(claimOf([records(other, 0)], name, mine), { kind: "none" });
  assertEquals(claimOf([records(other)], "desk._dsync._tcp.local", mine), {
    kind: "none",
  });
  // A non-dsync holder (no id) and odd shapes.
  const srvOnly = records(other).filter((r) => r.type === "SRV");
  assertEquals(claimOf([srvOnly], name, mine), {
    kind: "other",
    id: undefined,
  });
  for (
    const odd of [undefined, null, 7, "x", [null], [{ name: 5 }], [{
      name,
      type: "TXT",
      ttl: 1,
      data: [new Uint8Array([0xff]), 3, null],
    }]]
  ) {
    const c = claimOf([odd], name, mine);
    assert(c.kind === "none" || c.kind === "other");
  }
});

Deno.test("winsTie() keeps the name for the higher id", () => {
  assert(winsTie("bb", "aa"));
  assert(!winsTie("aa", "bb"));
  assert(!winsTie("aa", "AA".toLowerCase()));
  assert(!winsTie("aa", undefined));
});
