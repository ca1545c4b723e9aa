/** Polling with a deadline, for every test that waits on a condition. */

/**
 * Polls `condition` every `pollMs` until it holds; throws naming `what`
 * (a string, or a function for a message built at that moment) after
 * `timeoutMs`.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
  pollMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
