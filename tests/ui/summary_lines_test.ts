import { assertEquals } from "../assert.ts";
import { describeTotals } from "../../src/ui/mod.ts";
import { LOGGED_SIZE, parseLoggedBytes } from "../e2e/_units.ts";

Deno.test("describeTotals() prints the end-of-run byte counts in human units", () => {
  const line = describeTotals({
    received: 254_321_000,
    sent: 0,
    reused: 1_500,
    resumed: 12_000_000_000,
  });
  assertEquals(
    line,
    "Received 254 MB of file data from peers, sent 0 B, reused 1.5 KB from local files, 12.0 GB from resumed .part files",
  );
  // The e2e tests read these figures back.
  const sent = line.match(new RegExp(`sent (${LOGGED_SIZE})`))![1]!;
  assertEquals(parseLoggedBytes(sent), 0);
  assertEquals(parseLoggedBytes("254 MB"), 254_000_000);
  assertEquals(parseLoggedBytes("1.5 KB"), 1_500);
});
