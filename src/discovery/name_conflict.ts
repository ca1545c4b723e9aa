/**
 * Instance-name conflicts (RFC 6762 §8–9, RFC 6763 §4.1): who else claims
 * our service instance name, who wins a tie, and the next name to try.
 * Pure deciders over decoded packets; never throws on odd input.
 * @module
 */
import { MAX_LABEL_LENGTH, MAX_RECORDS } from "./service_records.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a packet says about our instance name. */
export type Claim =
  /** Nobody but us (or nothing about the name). */
  | { kind: "none" }
  /** Another responder holds the name; `id` is its dsync id hex, if any. */
  | { kind: "other"; id: string | undefined };

/**
 * The next label after a clash: `name` → `name (2)`, `name (2)` → `name (3)`,
 * trimmed so that the label stays within 63 bytes.
 */
export function renamedLabel(label: string): string {
  const match = /^(.*) \((\d{1,6})\)$/.exec(label);
  const base = match ? match[1]! : label;
  const n = match ? Number(match[2]) + 1 : 2;
  const suffix = ` (${n})`;
  let head = base;
  while (
    head.length > 0 &&
    encoder.encode(head + suffix).length > MAX_LABEL_LENGTH
  ) {
    head = head.slice(0, -1);
  }
  return `${head.length > 0 ? head : "dsync"}${suffix}`;
}

/**
 * Whether records in `sections` (answers, authorities …) claim `instance`
 * for someone other than `ownIdHex`. Our own packets come back to us over
 * multicast loopback: their TXT carries our id and are not a claim.
 */
export function claimOf(
  sections: unknown[],
  instance: string,
  ownIdHex: string,
): Claim {
  const wanted = instance.toLowerCase();
  let seen = false;
  const ids: string[] = [];
  let count = 0;
  for (const section of sections) {
    if (!Array.isArray(section)) continue;
    for (const r of section) {
      if (++count > MAX_RECORDS) break;
      if (typeof r !== "object" || r === null) continue;
      const { name, type, ttl, data } = r as Record<string, unknown>;
      if (typeof name !== "string" || name.toLowerCase() !== wanted) continue;
      if (type !== "SRV" && type !== "TXT") continue;
      // A goodbye gives the name up.
      if (ttl === 0) continue;
      seen = true;
      if (type === "TXT") ids.push(txtId(data) ?? "");
    }
  }
  if (!seen) return { kind: "none" };
  if (ids.length > 0 && ids.every((id) => id === ownIdHex)) {
    return { kind: "none" };
  }
  const other = ids.find((id) => id !== ownIdHex && id !== "");
  return { kind: "other", id: other };
}

/**
 * Tie-break between two claimants (RFC 6762 §8.2 compares record data;
 * dsync compares the ids in the TXT records): true if we keep the name.
 */
export function winsTie(ownIdHex: string, otherIdHex: string | undefined) {
  if (otherIdHex === undefined) return false;
  return ownIdHex > otherIdHex.toLowerCase();
}

function txtId(data: unknown): string | undefined {
  const chunks = Array.isArray(data) ? data : [data];
  for (const chunk of chunks.slice(0, 64)) {
    let text: string | undefined;
    if (typeof chunk === "string") text = chunk;
    else if (chunk instanceof Uint8Array) text = decoder.decode(chunk);
    if (text === undefined || text.length > 300) continue;
    if (text.toLowerCase().startsWith("id=")) {
      return text.slice(3).toLowerCase();
    }
  }
  return undefined;
}
