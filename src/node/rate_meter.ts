/**
 * Current transfer rates from byte counters: each reading of a counter is
 * kept for a few seconds, and the rate is what the counter grew over that
 * window. Read whenever a status is built; no timer of its own.
 * @module
 */

/** Rates of named, ever-growing byte counters. */
export class RateMeter {
  readonly #windowMs: number;
  readonly #samples = new Map<string, [number, number][]>();

  constructor(windowMs = 3_000) {
    this.#windowMs = windowMs;
  }

  /** Records `bytes` of counter `key` at `now`; returns its rate in bytes/s. */
  rate(key: string, bytes: number, now: number): number {
    let list = this.#samples.get(key);
    if (list === undefined) this.#samples.set(key, list = []);
    const last = list[list.length - 1];
    if (last === undefined || now > last[0]) list.push([now, bytes]);
    while (list.length > 2 && now - list[1]![0] >= this.#windowMs) list.shift();
    const first = list[0]!;
    const end = list[list.length - 1]!;
    const ms = end[0] - first[0];
    if (ms <= 0 || end[1] < first[1]) return 0;
    return ((end[1] - first[1]) * 1000) / ms;
  }
}
