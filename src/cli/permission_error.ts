/**
 * Turns Deno's "permission not granted" error into one line that names the
 * missing flag, or returns null for any other error.
 */
export function describePermissionError(error: unknown): string | null {
  if (!(error instanceof Deno.errors.NotCapable)) return null;
  const flag = error.message.match(/--allow-[a-z-]+/)?.[0];
  const what = error.message.match(/^Requires (.+?),/)?.[1];
  if (flag === undefined) return `Permission denied: ${error.message}`;
  return `Permission denied: dsync needs ${flag}${
    what ? ` (${what})` : ""
  }; run it again with ${flag}`;
}
