import { assertEquals, assertRejects, assertThrows } from "../../assert.ts";
import { BlockingCalls } from "../../../src/sync/apply/blocking_calls.ts";

/** A call that finishes when the test says so. */
function held(): {
  promise: Promise<void>;
  finish: () => void;
  fail: () => void;
} {
  let finish!: () => void;
  let fail!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = () => reject(new Error("failed"));
  });
  return { promise, finish, fail };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("BlockingCalls: never more than the limit in flight; the rest start in order as slots free", async () => {
  const calls = new BlockingCalls(2);
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, held);
  const runs = gates.map((g, i) =>
    calls.run(() => {
      started.push(i);
      return g.promise;
    })
  );
  await turn();
  assertEquals(started, [0, 1]);
  assertEquals(calls.running, 2);
  gates[1]!.finish();
  await turn();
  assertEquals(started, [0, 1, 2]);
  assertEquals(calls.running, 2);
  gates[0]!.finish();
  gates[2]!.finish();
  await turn();
  assertEquals(started, [0, 1, 2, 3, 4]);
  gates[3]!.finish();
  gates[4]!.finish();
  await Promise.all(runs);
  assertEquals(calls.running, 0);
});

Deno.test("BlockingCalls: a failed call gives its slot back and its caller the error", async () => {
  const calls = new BlockingCalls(1);
  const first = held();
  const started: string[] = [];
  const failing = calls.run(() => {
    started.push("first");
    return first.promise;
  });
  const next = calls.run(() => {
    started.push("next");
    return Promise.resolve(7);
  });
  await turn();
  assertEquals(started, ["first"]);
  first.fail();
  await assertRejects(() => failing, Error, "failed");
  assertEquals(await next, 7);
  assertEquals(started, ["first", "next"]);
  assertEquals(calls.running, 0);
});

Deno.test("BlockingCalls: a limit below one call is refused", () => {
  for (const limit of [0, -1, 1.5, NaN]) {
    assertThrows(() => new BlockingCalls(limit), RangeError);
  }
});
