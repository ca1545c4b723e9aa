/** MassDeleteCheck: a peer's deletes are staged, then judged together. */
import { assertEquals } from "../../assert.ts";
import { waitFor } from "../../_wait.ts";
import type { Decision } from "../../../src/sync/apply/mod.ts";
import type { FileRecord } from "../../../src/index/mod.ts";
import { MassDeleteCheck } from "../../../src/sync/pull/mass_delete.ts";
import type { PullerOptions } from "../../../src/sync/pull/pull_context.ts";

/** A content hash unique to `n`. */
function hashOf(n: number): Uint8Array {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, n);
  return hash;
}

function deletes(n: number, from = 0): Decision[] {
  return Array.from({ length: n }, (_, i) => {
    const path = `f${from + i}`;
    return {
      path,
      local: { kind: "file", path, hash: hashOf(from + i) } as FileRecord,
      remote: { kind: "file", path, deleted: true } as FileRecord,
      action: { kind: "delete" },
      more: false,
    } as Decision;
  });
}

/**
 * A check over `live` files; `keptFrom`: deletes of `f<n>` with n at or
 * above it move content that lives on here under another name.
 */
function check(live: number, keptFrom?: number) {
  const woken: string[][] = [];
  const asked: number[] = [];
  const remote = { recordsFor: () => [] } as unknown as PullerOptions["remote"];
  const mass = new MassDeleteCheck(
    {
      liveFiles: () => live,
      remote,
      ...(keptFrom === undefined ? {} : {
        keptElsewhere: (ds: ReadonlyMap<string, string>) => {
          asked.push(ds.size);
          return new Set(
            [...ds.keys()].filter((p) => Number(p.slice(1)) >= keptFrom),
          );
        },
      }),
    },
    { enqueue: (paths) => woken.push([...paths]) },
  );
  return { mass, woken, asked };
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

Deno.test("MassDeleteCheck lets through deletes whose content lives on here (a renamed folder), and does not count them", async () => {
  // 300 of 400 files "deleted", all moved: nothing held.
  const { mass, woken, asked } = check(400, 0);
  const now = Date.now();
  assertEquals(mass.pass(deletes(150), now), []);
  assertEquals(mass.pass(deletes(150, 150), now + 1), []);
  await waitFor(() => woken.length > 0, "the staged deletes to settle", 10_000);
  assertEquals([woken[0]!.length, mass.held, asked], [300, 0, [300]]);
  assertEquals(mass.pass(deletes(300), Date.now()).length, 300);
  // Applied, the moves do not count toward the next minute's deletes.
  mass.guard.appliedFiles(deletes(300).map((d) => d.path), Date.now());
  assertEquals(mass.guard.recent(Date.now()), 0);
  mass.close();
});

Deno.test("MassDeleteCheck holds only the real deletes of a round that also moves files", async () => {
  // f0..f159 are deleted for good (a mass delete of 300), f160..f299 moved.
  const { mass, woken } = check(300, 160);
  assertEquals(mass.pass(deletes(300), Date.now()), []);
  await waitFor(() => woken.length > 0, "the staged deletes to settle", 10_000);
  assertEquals(woken[0]!.length, 140); // the moves go on
  assertEquals(mass.held, 160);
  assertEquals(mass.pass(deletes(140, 160), Date.now()).length, 140);
  mass.close();
});

Deno.test("MassDeleteCheck does not look for moved content while the deletes cannot add up to a mass delete", async () => {
  const { mass, woken, asked } = check(500, 0);
  assertEquals(mass.pass(deletes(90), Date.now()), []);
  await waitFor(() => woken.length > 0, "the staged deletes to settle", 10_000);
  assertEquals([woken[0]!.length, asked], [90, []]);
  mass.close();
});
