/** PullQueue: where each path is, and counting each once. */
import { assertEquals } from "../../assert.ts";
import { PullQueue } from "../../../src/sync/pull/pull_queue.ts";

Deno.test("PullQueue.pending counts each queued, active or waiting path once", () => {
  const q = new PullQueue();
  try {
    assertEquals(q.pending, 0);
    q.enqueue(["a", "b", "c"]);
    assertEquals(q.pending, 3);
    assertEquals(q.take(2), ["a", "b"]);
    assertEquals(q.pending, 1); // taken and not active: done with
    q.activate(["a", "b"]);
    assertEquals(q.pending, 3);
    q.requeue("a"); // active and queued again
    q.wait("b"); // active and waiting
    q.wait("d"); // waiting only
    assertEquals([q.pending, q.queued, q.active, q.waiting], [4, 2, 2, 2]);
    q.release(["a", "b"]);
    assertEquals(q.pending, 4); // a and c queued, b and d waiting
    q.retryWaiting();
    assertEquals([q.pending, q.queued, q.waiting], [4, 4, 0]);
  } finally {
    q.stop();
  }
});
