/**
 * Whether compressing chunks for one peer makes the transfer faster, found
 * by trying both. LZ4 costs the sender ~2.7 ms of CPU per MB of text and
 * saves the link about two thirds of the bytes: on a 1 Gbit/s LAN that
 * lets ~2.5x more content through, while on a link faster than the
 * compressor (loopback, 10 Gbit/s, two processes sharing cores) it only
 * slows the transfer (1 GiB of text on loopback: 8.7-9.3 s with, 6.5-7.1 s
 * without). Neither the link speed nor the other side's CPU is known in
 * advance, so the governor measures what matters, the raw chunk bytes
 * answered per second, in windows with compression and without, keeps the
 * faster way for a while, and measures again.
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
 * The window without compression sits between two with it, and is compared
 * with their mean, so a rate that rises or falls for other reasons during
 * the measurement does not decide. At the start of a transfer the sender
 * is often still hashing its files on both cores: on that 1 Gbit/s link,
 * 1 GiB of text measured 66 MB/s with compression in the first window and
 * 90 MB/s without in the second, so compression went off for the whole
 * transfer (1,053 MB on the wire, 10.5 s, slower than the link's 9 s).
 *
 * A window only counts while answers keep coming: a pause longer than
 * {@linkcode GovernorOptions.maxGapMs} (the peer asked for nothing) starts
 * it over, and the first {@linkcode GovernorOptions.settleBytes} after a
 * start or a switch are not measured (the pipeline still fills, or still
 * carries answers of the other way). Until a comparison has been made,
 * compression is on.
 * @module
 */

/** Tuning of a {@linkcode CompressionGovernor}; defaults in parentheses. */
export interface GovernorOptions {
  /** Clock in ms (performance.now). */
  readonly now?: () => number;
  /** Shortest measuring window, ms (500). */
  readonly windowMs?: number;
  /** Fewest raw bytes in a measuring window (8 MiB). */
  readonly windowBytes?: number;
  /** How long the faster way is kept before measuring again, ms (10000). */
  readonly holdMs?: number;
  /** A pause between answers longer than this restarts a window, ms (200). */
  readonly maxGapMs?: number;
  /** Compression is given up only when the rate without is this much higher (1.05). */
  readonly margin?: number;
  /**
   * Raw bytes answered after a switch before a window starts (4 MiB): the
   * pipeline still carries answers of the other way.
   */
  readonly settleBytes?: number;
}

/**
 * Where a governor stands: measuring with compression, without, with it
 * again, or holding the faster way.
 */
export type GovernorPhase =
  | "measure-on"
  | "measure-off"
  | "recheck-on"
  | "hold";
type Phase = GovernorPhase;

/** What a governor does when a window or hold ends. */
export interface GovernorStep {
  readonly phase: GovernorPhase;
  readonly compressing: boolean;
}

/** The rates of a measuring round so far (bytes per ms; 0 when not yet measured). */
export interface RoundRates {
  /** The first window, with compression. */
  readonly on: number;
  /** The second window, without. */
  readonly off: number;
}

/**
 * The decision table, pure. `rate` is that of the window that just ended
 * (`phase`); `round` holds the earlier windows of the same round. Without
 * compression wins only when faster than the mean of the two windows with
 * it by more than `margin`: a link slower than the compressor (sending is
 * link-bound) carries more raw bytes per second compressed, so compression
 * stays on; where the link outruns the compressor (the sender is
 * CPU-bound) it goes off. A hold ends in a new round.
 */
export function governorStep(
  phase: GovernorPhase,
  rate: number,
  round: RoundRates,
  margin: number,
): GovernorStep {
  switch (phase) {
    case "measure-on":
      return { phase: "measure-off", compressing: false };
    case "measure-off":
      return { phase: "recheck-on", compressing: true };
    case "recheck-on": {
      const on = (round.on + rate) / 2;
      return { phase: "hold", compressing: !(round.off > on * margin) };
    }
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
  #round: RoundRates = { on: 0, off: 0 };
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

  /**
   * Records an answer carrying `rawBytes` of chunk content, sent now.
   * `disturbed`: something else competes for the CPU meanwhile (this
   * device indexes its own files), so the rate says nothing about
   * compression: the round starts over, compressing (the default) for as
   * long as the disturbance lasts, not stuck in a window without.
   */
  answered(rawBytes: number, disturbed = false): void {
    const now = this.#now();
    if (this.#since === undefined || now - this.#last > this.#maxGapMs) {
      // First answer, or after a pause: a window measures from here.
      this.#since = now;
      this.#bytes = 0;
    }
    this.#last = now;
    if (disturbed && this.#phase !== "hold") {
      if (this.#phase === "measure-on") {
        this.#since = now;
        this.#bytes = 0;
      } else {
        this.#enter("measure-on", true, now);
      }
      return;
    }
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
    const next = governorStep(this.#phase, rate, this.#round, this.#margin);
    if (this.#phase === "measure-on") this.#round = { on: rate, off: 0 };
    if (this.#phase === "measure-off") {
      this.#round = { ...this.#round, off: rate };
    }
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
