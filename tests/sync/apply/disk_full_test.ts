import { waitFor } from "../../_wait.ts";
import { assertEquals } from "../../assert.ts";
import {
  DiskFullNotice,
  isDiskFull,
} from "../../../src/sync/apply/disk_full.ts";

Deno.test("isDiskFull() recognizes ENOSPC and SQLITE_FULL, nothing else", () => {
  const enospc = Object.assign(
    new Error("No space left on device (os error 28)"),
    { code: "ENOSPC" },
  );
  assertEquals(isDiskFull(enospc), true);
  assertEquals(isDiskFull(new Error("database or disk is full")), true);
  assertEquals(isDiskFull(new Error("Permission denied (os error 13)")), false);
  assertEquals(isDiskFull(new Deno.errors.NotFound("gone")), false);
  assertEquals(isDiskFull("No space left on device"), false);
});

Deno.test("DiskFullNotice reports an episode once and ends it only after writes settle", async () => {
  const notice = new DiskFullNotice({ settleMs: 30 });
  const full = new Error("No space left on device");
  try {
    assertEquals(notice.full, false);
    notice.clear(); // no episode: nothing to end
    notice.report("a", full, 10_000);
    notice.report("b", full, 10_000);
    assertEquals(notice.full, true);
    // A small file that still fits, then another failure: same episode.
    notice.clear();
    notice.report("c", full, 10_000);
    assertEquals(notice.full, true);
    // A success followed by quiet ends it.
    notice.clear();
    await waitFor(() => !notice.full, "the episode to end", 5_000);
    assertEquals(notice.full, false);
  } finally {
    notice.close();
  }
});
