/**
 * The chromium the browser tests drive (Debian's package, or
 * `CHROMIUM_PATH`), or why there is none.
 * @module
 */

/** The chromium to drive, or why there is none. */
export function findChromium(): { path: string } | { reason: string } {
  const candidates = [
    Deno.env.get("CHROMIUM_PATH"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ];
  for (const path of candidates) {
    if (path === undefined || path === "") continue;
    try {
      if (Deno.statSync(path).isFile) return { path };
    } catch {
      // Not here.
    }
  }
  return {
    reason:
      "chromium is not installed (apt-get install chromium; .ci/run does)",
  };
}

/** Launch options for headless chromium as root in CI (no sandbox there). */
export const CHROMIUM_ARGS: string[] = [
  "--no-sandbox",
  "--disable-dev-shm-usage",
];
