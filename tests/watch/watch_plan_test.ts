import { assertEquals } from "../assert.ts";
import { planAround } from "../../src/watch/watch_plan.ts";

Deno.test("planAround() watches the way to each unreadable folder on its own and everything beside it recursively", () => {
  const tree: Record<string, string[]> = {
    "": ["a", "b", "c"],
    a: ["a/x", "a/closed", "a/y"],
    "a/x": ["a/x/deep"],
    b: ["b/closed"],
    c: [],
  };
  const plan = planAround(["a/closed", "b/closed"], (rel) => tree[rel] ?? []);
  assertEquals(plan, {
    recursive: ["a/x", "a/y", "c"],
    flat: ["", "a", "b"],
    unreadable: ["a/closed", "b/closed"],
  });
  assertEquals(planAround(["top"], () => ["top", "other"]), {
    recursive: ["other"],
    flat: [""],
    unreadable: ["top"],
  });
});
