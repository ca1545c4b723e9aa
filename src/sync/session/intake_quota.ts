/**
 * How fast one peer's index records are taken in. A peer that sent 500,000
 * deletions of paths no one had (issue #19) kept the receiver's event loop
 * busy with nothing but its batches: the batches sat decoded in the
 * channel's buffer and were handled one after the other without a pause,
 * so another peer's connection saw no answer for 25 s and was closed as
 * dead, and its 10 KiB file never arrived. Each peer now has a budget of
 * records per minute (a token bucket: a minute's worth may come at once,
 * then at the steady rate), and a smaller one for deletions of paths this
 * device never had (dropped, but each still costs two lookups). A peer
 * over budget is not refused (an honest one resends the same records when
 * it reconnects, so refusing would never end): its connection is simply
 * not read until its debt is paid off, and TCP holds it back.
 *
 * A record counts as one however many chunks it lists, so a third budget
 * counts chunk entries: records at the 448K-chunk cap (16 MB each, about
 * 1 s of the event loop to take in) from a peer that never serves them
 * pushed a victim past 3 GB (issue #19 point 5).
 *
 * The budgets belong to the peer, not to one connection
 * ({@linkcode IntakeBudget}): a peer that reconnects starts from what it
 * had spent.
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["dsync", "sync", "session"]);

/** Records per minute one peer may send (all of them, refused ones too). */
export const RECORDS_PER_MINUTE = 300_000;
/** Deletions per minute of paths that neither we nor any peer had. */
export const NEVER_SEEN_PER_MINUTE = 60_000;
/**
 * Chunk entries per minute one peer's records may list: about four
 * records at the 448K-chunk cap, 128 GiB of files at the 64 KiB average.
 */
export const CHUNKS_PER_MINUTE = 2_000_000;
/**
 * Chunk entries taken in at once before the rate applies: one record at
 * the cap. Four at once kept the event loop busy for seconds and made a
 * 10 KiB file from another peer wait 8 s.
 */
export const CHUNKS_BURST = 500_000;

/**
 * A budget of `perMinute` units, at most `burst` (default a minute's
 * worth) saved up.
 */
export class IntakeQuota {
  readonly perMinute: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(
    perMinute: number,
    now: () => number = Date.now,
    burst: number = perMinute,
  ) {
    if (!(perMinute > 0) || !(burst > 0)) {
      throw new RangeError(
        `A quota must be above 0 per minute and at once, not ${perMinute} and ${burst}`,
      );
    }
    this.perMinute = perMinute;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /**
   * Spends `n` units (the budget may go into debt: what arrived was
   * already sent) and returns how many milliseconds to wait before taking
   * in more: 0 while the budget lasts.
   */
  spend(n: number): number {
    const now = this.#now();
    const rate = this.perMinute / 60_000;
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + Math.max(0, now - this.#at) * rate,
    );
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / rate);
  }
}

/**
 * A batch of at least this many records lets other connections and timers
 * run before the next message of the peer is read, even within its quota.
 */
const YIELD_RECORDS = 256;
/** The same for a batch listing this many chunks (16 MiB of files or more). */
const YIELD_CHUNKS = 4096;

/** Options of an {@linkcode IntakeBudget}. */
export interface IntakeBudgetOptions {
  /** The peer's name for the log. */
  readonly peer: () => string;
  readonly recordsPerMinute?: number | undefined;
  readonly neverSeenPerMinute?: number | undefined;
  readonly chunksPerMinute?: number | undefined;
  readonly chunksBurst?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * One peer's three quotas, across its connections: a peer that
 * reconnects (or holds two connections at once) starts from what it
 * spent, not from a fresh minute's worth.
 */
export class IntakeBudget {
  #peer: () => string;
  readonly #now: () => number;
  readonly #records: IntakeQuota;
  readonly #neverSeen: IntakeQuota;
  readonly #chunks: IntakeQuota;
  /** When the quota last held this peer back (one log line a minute). */
  #loggedAt = -Infinity;

  constructor(o: IntakeBudgetOptions) {
    this.#peer = o.peer;
    this.#now = o.now ?? Date.now;
    this.#records = new IntakeQuota(
      o.recordsPerMinute ?? RECORDS_PER_MINUTE,
      this.#now,
    );
    this.#neverSeen = new IntakeQuota(
      o.neverSeenPerMinute ?? NEVER_SEEN_PER_MINUTE,
      this.#now,
    );
    const chunksPerMinute = o.chunksPerMinute ?? CHUNKS_PER_MINUTE;
    this.#chunks = new IntakeQuota(
      chunksPerMinute,
      this.#now,
      Math.min(chunksPerMinute, o.chunksBurst ?? CHUNKS_BURST),
    );
  }

  /** Names the peer in the log from now on (its latest session knows it). */
  set peer(label: () => string) {
    this.#peer = label;
  }

  /**
   * A batch of `records` arrived, `neverSeen` of them deletions of paths
   * no one here had, listing `chunks` chunk entries in all: the
   * milliseconds to wait before reading on (0: just let others run
   * first), or undefined to read on at once.
   */
  spend(
    records: number,
    neverSeen: number,
    chunks = 0,
  ): number | undefined {
    const waitMs = Math.max(
      this.#records.spend(records),
      this.#neverSeen.spend(neverSeen),
      this.#chunks.spend(chunks),
    );
    if (waitMs === 0) {
      return records >= YIELD_RECORDS || chunks >= YIELD_CHUNKS ? 0 : undefined;
    }
    const now = this.#now();
    if (now - this.#loggedAt >= 60_000) {
      this.#loggedAt = now;
      log.info(
        "Reading the index of {peer} more slowly (IndexQuota): more than {records} records, {chunks} chunks listed, or {neverSeen} deletions of paths no one here had, in a minute",
        {
          peer: this.#peer(),
          records: this.#records.perMinute,
          chunks: this.#chunks.perMinute,
          neverSeen: this.#neverSeen.perMinute,
        },
      );
    }
    return waitMs;
  }
}

/** Options of an {@linkcode IndexIntake}. */
export interface IndexIntakeOptions extends IntakeBudgetOptions {
  /** The peer's budget, kept across its connections (default: a new one). */
  readonly budget?: IntakeBudget | undefined;
}

/** One connection's index intake: its peer's budget and the pauses it asks for. */
export class IndexIntake {
  readonly budget: IntakeBudget;
  #pause:
    | { timer: ReturnType<typeof setTimeout>; resume: () => void }
    | undefined;

  constructor(o: IndexIntakeOptions) {
    this.budget = o.budget ?? new IntakeBudget(o);
    this.budget.peer = o.peer;
  }

  /** {@linkcode spend} for a batch of `records` (their chunks counted). */
  spendBatch(
    records: readonly { readonly chunks: readonly unknown[] }[],
    neverSeen: number,
  ): number | undefined {
    let chunks = 0;
    for (const record of records) chunks += record.chunks.length;
    return this.spend(records.length, neverSeen, chunks);
  }

  /** {@linkcode IntakeBudget.spend} of the peer's budget. */
  spend(
    records: number,
    neverSeen: number,
    chunks = 0,
  ): number | undefined {
    return this.budget.spend(records, neverSeen, chunks);
  }

  /** Resolves after `ms`, or at once when the connection ends meanwhile. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const resume = () => {
        this.#pause = undefined;
        resolve();
      };
      this.#pause = { timer: setTimeout(resume, ms), resume };
    });
  }

  /** The connection ended: a pause in progress ends now. */
  close(): void {
    if (this.#pause === undefined) return;
    clearTimeout(this.#pause.timer);
    this.#pause.resume();
  }
}
