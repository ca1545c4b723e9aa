/**
 * Who gets a seat when the listener is full. Refusing every newcomer once
 * the caps are reached let 128 idle authenticated sessions from 6 addresses
 * keep a real member out for 80 s, and half-open handshakes topped up from 6
 * addresses let 2 of 10 legitimate handshakes through (issue #19). So a full
 * listener makes room instead: it takes a seat from whoever holds more than
 * its share, strangers (join sessions) before members, the longest idle (or
 * the oldest handshake) first. Pure: the listener applies the answer.
 */

/** One open handshake, as the admission rules see it. */
export interface HandshakeSeat<K> {
  readonly key: K;
  readonly ip: string;
  /** When it started (ms). */
  readonly startedAt: number;
}

/** What to do with a new connection before its handshake. */
export type HandshakeAdmission<K> =
  | { readonly kind: "admit" }
  | { readonly kind: "evict"; readonly key: K }
  | { readonly kind: "refuse"; readonly reason: "per-ip" | "full" };

/**
 * Admits a handshake from `ip`: never more than `perIp` from one address
 * (kept below `max` so a few addresses cannot hold every slot); when all
 * `max` are taken, the oldest handshake of the address holding the most
 * makes room, as long as that address holds more than `ip` would.
 */
export function admitHandshake<K>(
  open: readonly HandshakeSeat<K>[],
  ip: string,
  limits: { readonly max: number; readonly perIp: number },
): HandshakeAdmission<K> {
  const counts = countBy(open, (s) => s.ip);
  const mine = counts.get(ip) ?? 0;
  if (mine >= limits.perIp) return { kind: "refuse", reason: "per-ip" };
  if (open.length < limits.max) return { kind: "admit" };
  const [heaviest, most] = largest(counts);
  if (heaviest === undefined || most <= mine + 1) {
    return { kind: "refuse", reason: "full" };
  }
  let oldest: HandshakeSeat<K> | undefined;
  for (const seat of open) {
    if (seat.ip !== heaviest) continue;
    if (oldest === undefined || seat.startedAt < oldest.startedAt) {
      oldest = seat;
    }
  }
  return { kind: "evict", key: oldest!.key };
}

/** One authenticated session, as the admission rules see it. */
export interface SessionSeat<K> {
  readonly key: K;
  readonly ip: string;
  /** A proven group member (else a device asking to join). */
  readonly member: boolean;
  /** When it last received anything (ms). */
  readonly lastActiveAt: number;
}

/** What to do with a session whose handshake just finished. */
export type SessionAdmission<K> =
  | { readonly kind: "admit" }
  | { readonly kind: "evict"; readonly key: K }
  | { readonly kind: "refuse" };

/**
 * Seats a new session (`member` or not, from `ip`) among `open` under a cap
 * of `max`. When full, in this order: the longest idle stranger makes room
 * for anyone; for a member, the longest idle session of the address holding
 * the most (when it holds more than `ip` would); else the newcomer is
 * refused. A member is never evicted for a stranger.
 */
export function admitSession<K>(
  open: readonly SessionSeat<K>[],
  newcomer: { readonly ip: string; readonly member: boolean },
  max: number,
): SessionAdmission<K> {
  if (open.length < max) return { kind: "admit" };
  const strangers = open.filter((s) => !s.member);
  if (strangers.length > 0) {
    return { kind: "evict", key: longestIdle(strangers).key };
  }
  if (!newcomer.member) return { kind: "refuse" };
  const counts = countBy(open, (s) => s.ip);
  const [heaviest, most] = largest(counts);
  const mine = counts.get(newcomer.ip) ?? 0;
  if (heaviest === undefined || most <= mine + 1) return { kind: "refuse" };
  return {
    kind: "evict",
    key: longestIdle(open.filter((s) => s.ip === heaviest)).key,
  };
}

function longestIdle<K>(seats: readonly SessionSeat<K>[]): SessionSeat<K> {
  let idlest = seats[0]!;
  for (const seat of seats) {
    if (seat.lastActiveAt < idlest.lastActiveAt) idlest = seat;
  }
  return idlest;
}

function countBy<T>(items: readonly T[], key: (t: T) => string) {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** The key with the largest count (first on ties), and its count. */
function largest(counts: Map<string, number>): [string | undefined, number] {
  let best: string | undefined;
  let most = 0;
  for (const [k, n] of counts) {
    if (n > most) {
      best = k;
      most = n;
    }
  }
  return [best, most];
}
