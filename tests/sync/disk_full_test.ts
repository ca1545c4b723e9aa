import { assertEquals } from "../assert.ts";
import {
  DiskFullNotice,
  isDiskFull,
  SETTLE_MS,
} from "../../src/sync/disk_full.ts";

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

Deno.test("DiskFullNotice reports an episode once and ends it on a success after failures settle", () => {
  let now = 1_000_000;
  const notice = new DiskFullNotice(() => now);
  const full = new Error("No space left on device");
  assertEquals(notice.full, false);
  notice.clear(); // no episode: nothing to end
  notice.report("a", full, 10_000);
  notice.report("b", full, 10_000);
  assertEquals(notice.full, true);
  // A small file that still fits right after a failure: same episode.
  now += 100;
  notice.clear();
  assertEquals(notice.full, true);
  notice.report("c", full, 10_000);
  now += SETTLE_MS - 1;
  notice.clear();
  assertEquals(notice.full, true);
  now += 1;
  notice.clear();
  assertEquals(notice.full, false);
});
