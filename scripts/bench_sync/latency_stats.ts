/** Median and 90th percentile of latency samples. */
export interface LatencySummary {
  count: number;
  median: number;
  p90: number;
}

/**
 * Median (mean of the middle two for an even count) and nearest-rank p90 of
 * `samples`; throws `RangeError` when there are none.
 */
export function summarizeLatency(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) {
    throw new RangeError("Cannot summarize latency: no samples");
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 === 1
    ? sorted[(n - 1) / 2]!
    : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const p90 = sorted[Math.ceil(0.9 * n) - 1]!;
  return { count: n, median, p90 };
}
