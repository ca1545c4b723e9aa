import { assertEquals, assertRejects } from "../assert.ts";
import {
  describeHolder,
  FolderInUseError,
  FolderLock,
} from "../../src/node/folder_lock.ts";

Deno.test("describeHolder() names a pid and nothing else", () => {
  const table: [string, string][] = [
    ["4242\n", " (pid 4242)"],
    ["", ""],
    ["0\n", ""],
    ["not a pid", ""],
    ["12345678901", ""],
  ];
  for (const [content, expected] of table) {
    assertEquals(describeHolder(content), expected, JSON.stringify(content));
  }
});

Deno.test("FolderLock.acquire() refuses a folder another process syncs, and frees it when that ends", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-lock-" });
  // flock() locks belong to the open file, so a second process is the only
  // faithful competitor.
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { FolderLock } from ${
        JSON.stringify(
          new URL("../../src/node/folder_lock.ts", import.meta.url).href,
        )
      };
      await FolderLock.acquire(${JSON.stringify(folder)});
      console.log("locked");
      setInterval(() => {}, 60_000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = holder.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const first = await reader.read();
    assertEquals(first.value?.trim(), "locked");
    reader.releaseLock();
    const error = await assertRejects(
      () => FolderLock.acquire(folder),
      FolderInUseError,
    );
    assertEquals(error.message.includes(`(pid ${holder.pid})`), true);
    holder.kill("SIGKILL");
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    // The OS dropped the dead holder's lock: the folder is free again.
    const lock = await FolderLock.acquire(folder);
    lock.release();
    lock.release();
  } finally {
    try {
      holder.kill("SIGKILL");
    } catch { /* already gone */ }
    await holder.status;
    await Deno.remove(folder, { recursive: true });
  }
});
