import { assertEquals } from "../assert.ts";
import {
  formatStamp,
  parseRestoreTime,
  parseVersionName,
  versionName,
} from "../../src/versions/mod.ts";

const AT = Date.UTC(2026, 11, 7, 3, 15, 9);

Deno.test("versionName() appends the UTC stamp, and -N from the second on", () => {
  const table: [string, number, string][] = [
    ["notes/plan.md", 1, "notes/plan.md~20261207-031509"],
    ["a", 2, "a~20261207-031509-2"],
    ["dir/with~tilde.txt", 1, "dir/with~tilde.txt~20261207-031509"],
  ];
  for (const [path, serial, name] of table) {
    assertEquals(versionName(path, AT + 999, serial), name);
  }
});

Deno.test("parseVersionName() reads what versionName() wrote and refuses other names", () => {
  const table: [string, ReturnType<typeof parseVersionName>][] = [
    ["notes/plan.md~20261207-031509", {
      path: "notes/plan.md",
      at: AT,
      serial: 1,
    }],
    ["a~20261207-031509-3", { path: "a", at: AT, serial: 3 }],
    ["x~y~20261207-031509", { path: "x~y", at: AT, serial: 1 }],
    ["plain.txt", undefined],
    ["~20261207-031509", undefined],
    ["a~20261307-031509", undefined], // month 13
    ["a~20261207-251509", undefined], // hour 25
    ["a~2026120-031509", undefined],
  ];
  for (const [name, want] of table) {
    assertEquals(parseVersionName(name), want, name);
  }
});

Deno.test("parseRestoreTime() takes a stamp or an ISO date-time (UTC without a zone)", () => {
  const table: [string, number | undefined][] = [
    ["20261207-031509", AT],
    ["2026-12-07T03:15:09Z", AT],
    ["2026-12-07T03:15:09", AT],
    ["2026-12-07 03:15:09", AT],
    ["2026-12-07T04:15:09+01:00", AT],
    ["2026-12-07", Date.UTC(2026, 11, 7)],
    ["yesterday", undefined],
    ["20261207", undefined],
    ["20261207-031509-2", undefined],
  ];
  for (const [text, want] of table) {
    assertEquals(parseRestoreTime(text), want, text);
  }
  assertEquals(formatStamp(AT), "20261207-031509");
});
