import { assert, assertEquals } from "../assert.ts";
import { TARGETS } from "../../scripts/compile.ts";

const WORKFLOW = new URL(
  "../../.github/workflows/release.yml",
  import.meta.url,
);

/** The `- target: X` / `os: Y` pairs of the build matrix. */
function matrix(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (
    const m of text.matchAll(/^\s+- target: (\S+)\n\s+os: (\S+)$/gm)
  ) {
    pairs.set(m[1]!, m[2]!);
  }
  return pairs;
}

Deno.test("release.yml is plain YAML: spaces only, two-space indents, the top-level keys", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  for (const [i, line] of text.split("\n").entries()) {
    assert(!line.includes("\t"), `line ${i + 1} has a tab`);
    const indent = line.length - line.trimStart().length;
    if (line.trim() !== "") {
      assertEquals(indent % 2, 0, `line ${i + 1} indent`);
    }
  }
  for (const key of ["name", "on", "permissions", "jobs"]) {
    assert(new RegExp(`^${key}:`, "m").test(text), `top-level ${key}`);
  }
});

Deno.test("release.yml builds every target of scripts/compile.ts on a runner of that target", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  const pairs = matrix(text);
  assertEquals([...pairs.keys()].sort(), [...TARGETS].sort());
  for (const [target, os] of pairs) {
    const family = target.includes("linux")
      ? "ubuntu"
      : target.includes("apple")
      ? "macos"
      : "windows";
    assert(os.startsWith(family), `${target} runs on ${os}`);
    // Native runners, so each binary is smoke-tested where it runs:
    // GitHub's arm Linux runners end in -arm; macos-13 is the last Intel one.
    if (target === "aarch64-unknown-linux-gnu") assert(os.endsWith("-arm"));
    if (target === "x86_64-unknown-linux-gnu") assert(!os.endsWith("-arm"));
    if (target === "x86_64-apple-darwin") assertEquals(os, "macos-13");
    if (target === "aarch64-apple-darwin") assert(os !== "macos-13");
  }
});

Deno.test("release.yml runs on v* tags, smoke-tests, and attaches binaries with SHA-256 sums", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  assert(
    /^on:\n {2}push:\n {4}tags: \["v\*"\]$/m.test(text),
    "on push tags v*",
  );
  for (
    const needle of [
      "deno task compile --target ${{ matrix.target }}",
      "deno run -A scripts/smoke_binary.ts",
      "tests/e2e/permissions_test.ts",
      "tests/e2e/cached_only_test.ts",
      "sha256sum dsync-* > SHA256SUMS",
      "uses: softprops/action-gh-release@v2",
      "dist/SHA256SUMS",
      "contents: write",
      ".deno-version",
    ]
  ) {
    assert(text.includes(needle), needle);
  }
  // The release job waits for every build (and so every smoke test).
  assert(/^ {2}release:\n {4}needs: build$/m.test(text), "release needs build");
});
