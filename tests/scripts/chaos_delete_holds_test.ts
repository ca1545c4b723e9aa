import { assertEquals } from "../assert.ts";
import { holdsIn, HoldTracker } from "../../scripts/chaos/delete_holds.ts";

const line = (deletes: number, files: number) =>
  `12:00:00.000 [WRN] sync.puller: beta would delete ${deletes} of the ${files} files here; nothing of it is applied. If that is right: dsync resume -d DIR --accept-deletes\n`;

Deno.test("holdsIn finds each hold the guard announced, in order", () => {
  const cases: [string, { deletes: number; files: number }[]][] = [
    ["", []],
    ["12:00:00.000 [INF] node: In sync with 2 peers\n", []],
    [line(61, 187), [{ deletes: 61, files: 187 }]],
    [line(61, 187) + "other\n" + line(70, 190), [
      { deletes: 61, files: 187 },
      { deletes: 70, files: 190 },
    ]],
  ];
  for (const [output, want] of cases) assertEquals(holdsIn(output), want);
});

Deno.test("the pattern matches the guard's own warning in mass_delete.ts", async () => {
  const source = await Deno.readTextFile(
    new URL("../../src/sync/pull/mass_delete.ts", import.meta.url),
  );
  const template = source.match(/"(\{peer\} would delete [^"]+)"/)?.[1];
  assertEquals(typeof template, "string");
  const printed = template!.replace("{peer}", "beta").replace("{count}", "61")
    .replace("{files}", "187");
  assertEquals(holdsIn(printed), [{ deletes: 61, files: 187 }]);
});

Deno.test("HoldTracker returns each hold once per generation", () => {
  const t = new HoldTracker();
  assertEquals(t.fresh(1, ""), []);
  assertEquals(t.fresh(1, line(61, 187)), [{ deletes: 61, files: 187 }]);
  assertEquals(t.fresh(1, line(61, 187)), []);
  assertEquals(t.fresh(1, line(61, 187) + line(9, 10)), [
    { deletes: 9, files: 10 },
  ]);
  // A restarted peer's output starts over: its holds are new.
  assertEquals(t.fresh(2, line(61, 187)), [{ deletes: 61, files: 187 }]);
});
