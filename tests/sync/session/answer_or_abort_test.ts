/**
 * `answerOrAbort`: a caller waiting for a peer's answer gets it, or stops
 * waiting the moment its signal aborts, and a late answer or failure then
 * goes nowhere (no unhandled rejection).
 */
import { assertEquals, assertRejects } from "../../assert.ts";
import { answerOrAbort } from "../../../src/sync/session/answer_or_abort.ts";

Deno.test("answerOrAbort: the answer, with or without a signal", async () => {
  assertEquals(await answerOrAbort(Promise.resolve(7)), 7);
  const controller = new AbortController();
  assertEquals(await answerOrAbort(Promise.resolve(8), controller.signal), 8);
  // Answered first: aborting afterwards changes nothing.
  controller.abort(new Error("late"));
});

Deno.test("answerOrAbort: an abort rejects with the signal's reason while the answer is pending", async () => {
  const controller = new AbortController();
  let fail!: (err: Error) => void;
  const answer = new Promise<number>((_, reject) => (fail = reject));
  const waiting = answerOrAbort(answer, controller.signal);
  controller.abort(new RangeError("stopped"));
  await assertRejects(() => waiting, RangeError, "stopped");
  // The answer fails later: nobody waits for it, and it is not unhandled.
  fail(new Error("peer gone"));
  await Promise.resolve();
});

Deno.test("answerOrAbort: a failed answer rejects as it failed", async () => {
  const controller = new AbortController();
  await assertRejects(
    () =>
      answerOrAbort(Promise.reject(new TypeError("bad")), controller.signal),
    TypeError,
    "bad",
  );
});
