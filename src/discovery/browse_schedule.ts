/**
 * When to send the next browse query: 1 s, 2 s, 4 s … capped at 60 s
 * (RFC 6762 §5.2 continuous querying).
 * @module
 */

/** First query interval in milliseconds. */
export const FIRST_QUERY_DELAY_MS = 1_000;
/** Longest query interval in milliseconds. */
export const MAX_QUERY_DELAY_MS = 60_000;

/** Delay before query number `index` (0-based) after the previous one. */
export function browseDelayMs(index: number): number {
  if (Number.isNaN(index) || index <= 0) return FIRST_QUERY_DELAY_MS;
  const exp = Math.min(Math.floor(index), 16);
  return Math.min(FIRST_QUERY_DELAY_MS * 2 ** exp, MAX_QUERY_DELAY_MS);
}
