import {
  describePermissionError,
  missingPermission,
  requiredPermissions,
} from "../../src/cli/permission_error.ts";
import { assertEquals } from "../assert.ts";

Deno.test("describePermissionError() names the flag and what was refused", () => {
  const cases: [string, string][] = [
    [
      'Requires read access to "/srv/a", run again with the --allow-read flag',
      'Permission denied: dsync needs --allow-read (read access to "/srv/a"); run it again with --allow-read',
    ],
    [
      'Requires env access to "APPDATA", run again with the --allow-env flag',
      'Permission denied: dsync needs --allow-env (env access to "APPDATA"); run it again with --allow-env',
    ],
    [
      'Requires sys access to "hostname", run again with the --allow-sys flag',
      'Permission denied: dsync needs --allow-sys (sys access to "hostname"); run it again with --allow-sys',
    ],
    ["Something else", "Permission denied: Something else"],
  ];
  for (const [message, line] of cases) {
    assertEquals(
      describePermissionError(new Deno.errors.NotCapable(message)),
      line,
    );
  }
  assertEquals(describePermissionError(new Error("Requires x")), null);
  assertEquals(describePermissionError("--allow-read"), null);
});

const NEEDS = { folder: "/srv/shared", port: 9000, discovery: true };

Deno.test("requiredPermissions() lists folder read and write, the port, and sys names", () => {
  assertEquals(requiredPermissions(NEEDS), [
    { name: "read", path: "/srv/shared" },
    { name: "write", path: "/srv/shared" },
    { name: "net", host: "0.0.0.0:9000" },
    { name: "sys", kind: "hostname" },
    { name: "sys", kind: "networkInterfaces" },
  ]);
  assertEquals(
    requiredPermissions({ ...NEEDS, discovery: false }).length,
    4,
  );
});

Deno.test("missingPermission() reports the first permission not granted, prompts included", () => {
  const key = (d: Deno.PermissionDescriptor) =>
    JSON.stringify(Object.values(d));
  const cases: [string | null, string | null][] = [
    [null, null],
    [
      '["write","/srv/shared"]',
      'Permission denied: dsync needs --allow-write (write access to "/srv/shared"); run it again with --allow-write',
    ],
    [
      '["net","0.0.0.0:9000"]',
      'Permission denied: dsync needs --allow-net (net access to "0.0.0.0:9000"); run it again with --allow-net',
    ],
    [
      '["sys","networkInterfaces"]',
      'Permission denied: dsync needs --allow-sys (sys access to "networkInterfaces"); run it again with --allow-sys',
    ],
  ];
  for (const [refused, line] of cases) {
    for (const state of ["denied", "prompt"] as const) {
      assertEquals(
        missingPermission(
          NEEDS,
          (d) => key(d) === refused ? state : "granted",
        ),
        line,
        `${refused} ${state}`,
      );
    }
  }
  // Without discovery the interface list is not needed.
  assertEquals(
    missingPermission(
      { ...NEEDS, discovery: false },
      (d) =>
        d.name === "sys" && d.kind === "networkInterfaces"
          ? "denied"
          : "granted",
    ),
    null,
  );
});

Deno.test("missingPermission() asks Deno by default", () => {
  // Tests run with -A.
  assertEquals(missingPermission(NEEDS), null);
});
