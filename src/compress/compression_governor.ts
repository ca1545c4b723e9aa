/**
 * Whether compressing chunks for one peer makes the transfer faster, found
 * by trying both. LZ4 costs the sender ~2.7 ms of CPU per MB of text and
 * saves the link about two thirds of the bytes: on a 1 Gbit/s LAN that
 * lets ~2.5x more content through, while on a link faster than the
 * compressor (loopback, 10 Gbit/s, two processes sharing cores) it only
 * slows the transfer (1 GiB of text on loopback: 8.7-9.3 s with, 6.5-7.1 s
 * without). Neither the link speed nor the other side's CPU is known in
 * advance, so the governor measures what matters, the raw chunk bytes
 * answered per second, in a window with compression and one without, keeps
 * the faster way for a while, and measures again.
 *
 * Compression is given up only when the rate without it is higher by
 * {@linkcode GovernorOptions.margin}. The other way round (compression
 * must win by the margin), with a first hold of 2 s doubling to 10 s, was
 * tried in December: on the 1 Gbit/s namespace link of `deno task bench
 * links`, 1 GiB of text under a load of 7-22 from other work, it sent
 * 973 and 1011 MB (compression mostly off), and with only the short first
 * hold 826 and 538 MB, against 517 and 396 MB this way, in interleaved
 * runs: both were dropped. Where compression can never pay, a loopback
 * peer, it is not measured at all (`loopback_peer.ts`).
 *
 * A window only counts while answers keep coming: a pause longer than
 * {@linkcode GovernorOptions.maxGapMs} (the peer asked for nothing) starts
 * it over, and the first {@linkcode GovernorOptions.settleBytes} after a
 * start or a switch are not measured (the pipeline still fills, or still
 * carries answers of the other way). Until a comparison has been made,
 * compression is on, as before. Measured on loopback, 1 GiB of text:
 * with compression 98-118 MB/s, without 135-170 MB/s, so it is turned off
 * about a second into the transfer.
 * @module
 */

/** Tuning of a {@linkcode CompressionGovernor}; defaults in parentheses. */
export interface GovernorOptions {
  /** Clock in ms (performance.now). */
  readonly now?: () => number;
  /** Shortest measuring window, ms (300). */
  readonly windowMs?: number;
  /** Fewest raw bytes in a measuring window (4 MiB). */
  readonly windowBytes?: number;
  /** How long the faster way is kept before measuring again, ms (8000). */
  readonly holdMs?: number;
  /** A pause between answers longer than this restarts a window, ms (200). */
  readonly maxGapMs?: number;
  /** Compression is given up only when the rate without is this much higher (1.1). */
  readonly margin?: number;
  /**
   * Raw bytes answered after a switch before a window starts (1 MiB): the
   * pipeline still carries answers of the other way.
   */
  readonly settleBytes?: number;
}

/** Where a governor stands: measuring with compression, without, or holding the faster way. */
export type GovernorPhase = "measure-on" | "measure-off" | "hold";
type Phase = GovernorPhase;

/** What a governor does when a window or hold ends. */
export interface GovernorStep {
  readonly phase: GovernorPhase;
  readonly compressing: boolean;
}

/**
 * The decision table, pure. A window measured with compression (`rate`)
 * is kept as `rateOn`, and the same is measured without. Without wins only
 * when faster by more than `margin`: a link slower than the compressor
 * (sending is link-bound) carries more raw bytes per second compressed,
 * so compression stays on; where the link outruns the compressor (the
 * sender is CPU-bound) it goes off. A hold ends in a new measurement.
 */
export function governorStep(
  phase: GovernorPhase,
  rate: number,
  rateOn: number,
  margin: number,
): GovernorStep {
  switch (phase) {
    case "measure-on":
      return { phase: "measure-off", compressing: false };
    case "measure-off":
      return { phase: "hold", compressing: !(rate > rateOn * margin) };
    case "hold":
      return { phase: "measure-on", compressing: true };
  }
}

/** Per-peer choice of trying compression, by measured throughput. */
export class CompressionGovernor {
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #windowBytes: number;
  readonly #holdMs: number;
  readonly #maxGapMs: number;
  readonly #margin: number;
  readonly #settleBytes: number;
  #phase: Phase = "measure-on";
  #on = true;
  /** When the current window (or hold) began; undefined until an answer. */
  #since: number | undefined;
  #bytes = 0;
  #last = 0;
  #rateOn = 0;
  /** Bytes still to pass before the window starts. */
  #settling = 0;

  constructor(options: GovernorOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#windowMs = options.windowMs ?? 500;
    this.#windowBytes = options.windowBytes ?? 8 << 20;
    this.#holdMs = options.holdMs ?? 10_000;
    this.#maxGapMs = options.maxGapMs ?? 200;
    this.#margin = options.margin ?? 1.05;
    this.#settleBytes = options.settleBytes ?? 4 << 20;
    // The first answers of a transfer come while its pipeline fills.
    this.#settling = this.#settleBytes;
  }

  /** Whether chunks answered now should be tried with compression. */
  get compressing(): boolean {
    return this.#on;
  }

  /** Records an answer carrying `rawBytes` of chunk content, sent now. */
  answered(rawBytes: number): void {
    const now = this.#now();
    if (this.#since === undefined || now - this.#last > this.#maxGapMs) {
      // First answer, or after a pause: a window measures from here.
      this.#since = now;
      this.#bytes = 0;
    }
    this.#last = now;
    if (this.#settling > 0) {
      this.#settling -= rawBytes;
      this.#since = now;
      return;
    }
    this.#bytes += rawBytes;
    const elapsed = now - this.#since;
    if (this.#phase === "hold") {
      if (elapsed < this.#holdMs) return;
    } else if (elapsed < this.#windowMs || this.#bytes < this.#windowBytes) {
      return;
    }
    const rate = this.#bytes / elapsed;
    if (this.#phase === "measure-on") this.#rateOn = rate;
    const next = governorStep(this.#phase, rate, this.#rateOn, this.#margin);
    this.#enter(next.phase, next.compressing, now);
  }

  /** Starts `phase` with compression `on`; a switch lets the pipeline settle first. */
  #enter(phase: Phase, on: boolean, now: number): void {
    if (on !== this.#on) this.#settling = this.#settleBytes;
    this.#phase = phase;
    this.#on = on;
    this.#since = now;
    this.#bytes = 0;
  }
}
