/** MassDeleteCheck: a peer's deletes are staged, then judged together. */
import { assertEquals } from "../../assert.ts";
import { waitFor } from "../../_wait.ts";
import type { Decision } from "../../../src/sync/apply/mod.ts";
import type { FileRecord } from "../../../src/index/mod.ts";
import { MassDeleteCheck } from "../../../src/sync/pull/mass_delete.ts";
import type { PullerOptions } from "../../../src/sync/pull/pull_context.ts";

function deletes(n: number, from = 0): Decision[] {
  return Array.from({ length: n }, (_, i) => {
    const path = `f${from + i}`;
    return {
      path,
      local: { kind: "file", path } as FileRecord,
      remote: { kind: "file", path, deleted: true } as FileRecord,
      action: { kind: "delete" },
      more: false,
    } as Decision;
  });
}

function check(live: number) {
  const woken: string[][] = [];
  const remote = { recordsFor: () => [] } as unknown as PullerOptions["remote"];
  const mass = new MassDeleteCheck(
    { liveFiles: () => live, remote },
    { enqueue: (paths) => woken.push([...paths]) },
  );
  return { mass, woken };
}

Deno.test("MassDeleteCheck applies a small folder's deletes at once", () => {
  const { mass } = check(80);
  assertEquals(mass.pass(deletes(70), Date.now()).length, 70);
  assertEquals(mass.staged, 0);
  mass.close();
});

Deno.test("MassDeleteCheck stages batches and lets them through together when they are no mass delete", async () => {
  const { mass, woken } = check(500);
  const now = Date.now();
  assertEquals(mass.pass(deletes(60), now), []);
  assertEquals(mass.pass(deletes(60, 60), now + 1), []);
  assertEquals(mass.staged, 120);
  await waitFor(() => woken.length > 0, "the staged deletes to settle", 10_000);
  assertEquals(woken[0]!.length, 120);
  assertEquals(mass.staged, 0);
  // Planned again, the released deletes pass.
  assertEquals(mass.pass(deletes(120), Date.now()).length, 120);
  assertEquals(mass.held, 0);
  mass.close();
});

Deno.test("MassDeleteCheck holds every batch of a mass delete, none applied, until accepted", async () => {
  const { mass, woken } = check(500);
  const now = Date.now();
  for (let batch = 0; batch < 4; batch++) {
    assertEquals(mass.pass(deletes(100, batch * 100), now + batch), []);
  }
  await waitFor(() => woken.length > 0, "the staged deletes to settle", 10_000);
  assertEquals(woken[0], []); // nothing to apply
  assertEquals([mass.held, mass.staged], [400, 0]);
  // Later deletes join the held ones.
  assertEquals(mass.pass(deletes(1, 400), Date.now()), []);
  assertEquals(mass.held, 401);
  assertEquals(mass.accept().length, 401);
  assertEquals(mass.pass(deletes(401), Date.now()).length, 401);
  mass.close();
});
