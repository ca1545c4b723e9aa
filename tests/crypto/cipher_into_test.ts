import { assertStrictEquals } from "../assert.ts";

Deno.test("Ciphers write into the caller's buffer under deno run, matching @noble/ciphers", async () => {
  // If a Deno upgrade removes the runtime internals this relies on, dsync
  // still works (through update()), but this test says the saving is gone.
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_cipher_into_check.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assertStrictEquals(
    text.decode(stdout).trim(),
    "ok 8",
    text.decode(stderr),
  );
  assertStrictEquals(code, 0);
});
