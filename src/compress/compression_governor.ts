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
 * must win by the margin) was tried, with the short first hold below: on
 * the 1 Gbit/s namespace link of `deno task bench links`, 1 GiB of text
 * under a load of 7-13 from other work, the governor then judged the two
 * about even nearly every time and sent 973-1011 MB in 23-28 s (2 runs),
 * against 517 MB in 15.2 s this way (1 run, interleaved). Where
 * compression can never pay, a loopback peer, it is not measured at all
 * (`loopback_peer.ts`).
 *
 * A window only counts while answers keep coming: a pause longer than
 * {@linkcode GovernorOptions.maxGapMs} (the peer asked for nothing) starts
 * it over, and the first {@linkcode GovernorOptions.settleBytes} after a
 * start or a switch are not measured (the pipeline still fills, or still
 * carries answers of the other way). The first measurement of a transfer
 * often runs while the source still hashes the rest of the folder on every
 * core, so the way it picks is held for
 * {@linkcode GovernorOptions.firstHoldMs} only, then twice as long after
 * every measurement that agrees, up to {@linkcode GovernorOptions.holdMs}.
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
  /** Longest time the faster way is kept before measuring again, ms (10000). */
  readonly holdMs?: number;
  /**
   * Time the way picked is kept after a measurement that changed it (or
   * the first one), ms (2000); doubled after each one that agrees.
   */
  readonly firstHoldMs?: number;
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
  readonly #firstHoldMs: number;
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
  /** Length of the current hold; undefined before the first decision. */
  #hold: number | undefined;
  /** Whether the last hold compressed. */
  #held = false;
  /** Bytes still to pass before the window starts. */
  #settling = 0;

  constructor(options: GovernorOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#windowMs = options.windowMs ?? 500;
    this.#windowBytes = options.windowBytes ?? 8 << 20;
    this.#holdMs = options.holdMs ?? 10_000;
    this.#firstHoldMs = Math.min(this.#holdMs, options.firstHoldMs ?? 2_000);
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
      if (elapsed < (this.#hold ?? this.#holdMs)) return;
    } else if (elapsed < this.#windowMs || this.#bytes < this.#windowBytes) {
      return;
    }
    const rate = this.#bytes / elapsed;
    if (this.#phase === "measure-on") this.#rateOn = rate;
    const next = governorStep(this.#phase, rate, this.#rateOn, this.#margin);
    if (next.phase === "hold") {
      // The measurement window ran with compression off: compare with
      // the way held before it.
      this.#hold = this.#hold === undefined || next.compressing !== this.#held
        ? this.#firstHoldMs
        : Math.min(this.#holdMs, 2 * this.#hold);
      this.#held = next.compressing;
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
