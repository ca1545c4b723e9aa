/**
 * Which peer to ask for one chunk: a pure decider over the sources that
 * can serve it. The least loaded one (fewest requested bytes in flight,
 * which is the most free capacity: every peer's requester has the same
 * cap, and a slow link keeps its bytes in flight longer, so this follows
 * each link's speed); on a tie a partial holder, so the complete holders
 * keep their capacity for the chunks nobody else has yet. A partial
 * holder whose claim failed once is not asked again during that pull.
 * A big file's pull asks the other way round: which chunk for the least
 * loaded source ({@linkcode rankSources}, then `chunk_order.ts`).
 * @module
 */

/** A source as the choice sees it. */
export interface SourceCandidate {
  /** Stable key of the peer. */
  readonly key: string;
  readonly open: boolean;
  /** Requested bytes not yet answered. */
  readonly load: number;
  /**
   * Present on a peer that holds only part of the file (from its
   * `Availability`): whether it holds chunk `index`. Absent: it holds all.
   */
  holds?(index: number): boolean;
}

/** What rules a source out for one chunk. */
export interface ChoiceState {
  /** Sources that already failed this chunk. */
  readonly tried: ReadonlySet<string>;
  /** Partial holders whose claim failed during this pull. */
  readonly distrusted: ReadonlySet<string>;
}

/** Whether `s` may be asked for chunk `index` now. */
export function canServe(
  s: SourceCandidate,
  index: number,
  state: ChoiceState,
): boolean {
  if (!s.open || state.tried.has(s.key)) return false;
  if (s.holds === undefined) return true;
  return !state.distrusted.has(s.key) && s.holds(index);
}

/** The source to ask for chunk `index`, or undefined when none can serve it. */
export function chooseSource<T extends SourceCandidate>(
  sources: readonly T[],
  index: number,
  state: ChoiceState,
): T | undefined {
  let best: T | undefined;
  for (const s of sources) {
    if (!canServe(s, index, state)) continue;
    if (
      best === undefined || s.load < best.load ||
      (s.load === best.load && s.holds !== undefined &&
        best.holds === undefined)
    ) best = s;
  }
  return best;
}

/**
 * The open sources in the order to offer them work: least loaded first;
 * on a tie partial holders first, as in {@linkcode chooseSource}.
 */
export function rankSources<T extends SourceCandidate>(
  sources: readonly T[],
): T[] {
  return sources.filter((s) => s.open).sort((a, b) =>
    a.load - b.load ||
    (a.holds === undefined ? 1 : 0) - (b.holds === undefined ? 1 : 0)
  );
}
