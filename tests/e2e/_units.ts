/**
 * Reads back the sizes dsync logs in human units (`formatBytes`: decimal,
 * one decimal place), for tests that check a logged byte count.
 * @module
 */

const FACTORS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
};

/** A size as logged, matched by {@linkcode parseLoggedBytes}. */
export const LOGGED_SIZE = String.raw`\d+(?:\.\d+)? [KMGTP]?B`;

/**
 * "254.3 MB" → 254_300_000. The value logged was within half a unit of
 * the last digit shown (0.05 MB here; 0.5 MB for "254 MB").
 */
export function parseLoggedBytes(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?) ([KMGTP]?B)$/);
  const factor = m === null ? undefined : FACTORS[m[2]!];
  if (m === null || factor === undefined) {
    throw new SyntaxError(`Cannot parse the logged size "${text}"`);
  }
  return Math.round(Number(m[1]) * factor);
}
