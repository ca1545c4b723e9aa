/**
 * Waiting for a peer's answer on behalf of a caller that may stop
 * waiting: the request itself stays in flight until answered (a late
 * answer is then dropped by its requester, not taken for unsolicited).
 * @module
 */

/**
 * `answer`, or a rejection with `signal.reason` as soon as `signal`
 * aborts, whichever comes first. Without a signal, `answer` itself.
 */
export async function answerOrAbort<T>(
  answer: Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal === undefined) return await answer;
  answer.catch(() => {}); // settled later, after the caller stopped waiting
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([answer, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
