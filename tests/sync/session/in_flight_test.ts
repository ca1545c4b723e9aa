/** `InFlight`: the requests sent to a peer and not answered yet, by id. */
import { assertEquals } from "../../assert.ts";
import { InFlight } from "../../../src/sync/session/in_flight.ts";

Deno.test("InFlight: ids count up, are taken once, and are free again after", () => {
  const table = new InFlight<string>();
  const a = table.freeId();
  table.set(a, "a");
  const b = table.freeId();
  table.set(b, "b");
  assertEquals([a, b, table.size], [1, 2, 2]);
  assertEquals(table.get(a), "a");
  assertEquals(table.take(a), "a");
  assertEquals(table.take(a), undefined);
  assertEquals(table.ids(), [b]);
});
