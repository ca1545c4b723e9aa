/**
 * DNS-SD records for the dsync service: what we announce and what we accept.
 * Pure: builds `dns-packet` shaped records and validates decoded responses.
 * @module
 */
import { parsePeerIdHex, peerIdHex } from "../identity/mod.ts";
import { decodeDnsMessage, type DnsAnswer } from "./mdns_socket.ts";

/** The DNS-SD service type dsync browses and announces. */
export const SERVICE_TYPE = "_dsync._tcp.local";
/** TTL (seconds) of our records; RFC 6762 §10 suggests 120 for host records. */
export const RECORD_TTL = 120;
/** Longest TTL we honour from others (RFC 6762 §10: 75 minutes). */
export const MAX_TTL = 4500;
/** Longest DNS name (RFC 1035). */
export const MAX_NAME_LENGTH = 255;
/** Longest single DNS label (RFC 1035). */
export const MAX_LABEL_LENGTH = 63;
/** Largest TXT record we accept, all strings together. */
export const MAX_TXT_BYTES = 1300;
/** Most records read from one packet; the rest is dropped. */
export const MAX_RECORDS = 64;
/** Most addresses kept per service. */
export const MAX_ADDRESSES = 16;

/** What we announce about ourselves. */
export interface ServiceAnnouncement {
  /** Instance label, e.g. the user's chosen node name. */
  name: string;
  /** Host label without ".local". */
  host: string;
  port: number;
  peerId: Uint8Array;
  ipv4: string[];
  ipv6: string[];
  /**
   * Group tag (`g=`): lets members of one group recognise each other and
   * says nothing to anyone else (see docs/PROTOCOL.md, "Discovery").
   */
  tag?: string | undefined;
  /** Accepts join requests now (`j=1`). */
  joinable?: boolean | undefined;
}

/** A dsync peer seen in a valid response. */
export interface DiscoveredService {
  id: Uint8Array;
  /** Full instance name, `<name>._dsync._tcp.local`, lower case. */
  instance: string;
  name: string;
  host: string;
  addresses: string[];
  port: number;
  /** Seconds the record stays valid. */
  ttl: number;
  /** The `g=` group tag, if any (32 lower-case hex digits). */
  tag: string | undefined;
  /** `j=1`: the instance accepts join requests now. */
  joinable: boolean;
}

/** One outcome per service instance named in a response. */
export type ParsedInstance =
  | { kind: "service"; service: DiscoveredService }
  | { kind: "goodbye"; instance: string }
  | { kind: "problem"; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Make a string safe as one DNS label: no dots, at most 63 bytes. */
export function toLabel(text: string): string {
  // deno-lint-ignore no-control-regex
  let label = text.replace(/[.\\\x00-\x1f]/g, "-").trim();
  while (encoder.encode(label).length > MAX_LABEL_LENGTH) {
    label = label.slice(0, -1);
  }
  return label.length > 0 ? label : "dsync";
}

/** Full instance name for a label. */
export function instanceName(name: string): string {
  return `${toLabel(name)}.${SERVICE_TYPE}`;
}

/** The answer records announcing our service (TTL 0 makes a goodbye). */
export function buildServiceRecords(
  a: ServiceAnnouncement,
  ttl: number = RECORD_TTL,
): DnsAnswer[] {
  const instance = instanceName(a.name);
  const target = `${toLabel(a.host)}.local`;
  const records: DnsAnswer[] = [
    { name: SERVICE_TYPE, type: "PTR", ttl, data: instance },
    {
      name: instance,
      type: "SRV",
      ttl,
      flush: true,
      data: { priority: 0, weight: 0, port: a.port, target },
    },
    {
      name: instance,
      type: "TXT",
      ttl,
      flush: true,
      data: [
        "v=1",
        `id=${peerIdHex(a.peerId)}`,
        ...(a.tag === undefined ? [] : [`g=${a.tag}`]),
        ...(a.joinable === true ? ["j=1"] : []),
      ],
    },
  ];
  for (const ip of a.ipv4) {
    records.push({ name: target, type: "A", ttl, flush: true, data: ip });
  }
  for (const ip of a.ipv6) {
    records.push({ name: target, type: "AAAA", ttl, flush: true, data: ip });
  }
  return records;
}

/**
 * True if a decoded query asks for our service type or for one of `names`
 * (our instance or host name, as resolvers ask for SRV/TXT/A directly).
 */
export function asksForService(msg: unknown, names: string[] = []): boolean {
  if (!isObject(msg) || msg.type !== "query") return false;
  const qs = msg.questions;
  if (!Array.isArray(qs)) return false;
  const wanted = new Set([SERVICE_TYPE, ...names.map((n) => n.toLowerCase())]);
  return qs.slice(0, MAX_RECORDS).some((q) =>
    isObject(q) && typeof q.name === "string" &&
    wanted.has(q.name.toLowerCase())
  );
}

/** Decode raw bytes and parse them; malformed bytes give one problem. */
export function parseServicePacket(bytes: Uint8Array): ParsedInstance[] {
  let msg: unknown;
  try {
    msg = decodeDnsMessage(bytes);
  } catch (error) {
    return [problem(`Cannot decode packet of ${bytes.length} bytes: ${error}`)];
  }
  return parseServiceResponse(msg);
}

interface Rec {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

/**
 * Parse a decoded mDNS response into dsync services. Other service types
 * give an empty list; anything malformed gives a problem, never a throw.
 */
export function parseServiceResponse(msg: unknown): ParsedInstance[] {
  if (!isObject(msg)) return [problem("Packet is not an object")];
  if (msg.type !== "response") return [];
  const records: Rec[] = [];
  for (const section of [msg.answers, msg.additionals]) {
    if (section === undefined) continue;
    if (!Array.isArray(section)) return [problem("Record section not a list")];
    for (const r of section) {
      if (records.length >= MAX_RECORDS) break;
      const rec = toRec(r);
      if (rec !== undefined) records.push(rec);
    }
  }
  const out: ParsedInstance[] = [];
  const seen = new Set<string>();
  for (const ptr of records) {
    if (ptr.type !== "PTR" || ptr.name !== SERVICE_TYPE) continue;
    if (typeof ptr.data !== "string") {
      out.push(problem("PTR data is not a name"));
      continue;
    }
    const instance = ptr.data.toLowerCase();
    if (seen.has(instance)) continue;
    seen.add(instance);
    out.push(parseInstance(instance, ptr.ttl, records));
  }
  return out;
}

function parseInstance(
  instance: string,
  ptrTtl: number,
  records: Rec[],
): ParsedInstance {
  const suffix = `.${SERVICE_TYPE}`;
  if (
    !instance.endsWith(suffix) || instance.length > MAX_NAME_LENGTH ||
    instance.length === suffix.length
  ) {
    return problem(`Bad instance name "${instance.slice(0, 80)}"`);
  }
  if (ptrTtl === 0) return { kind: "goodbye", instance };
  const name = instance.slice(0, -suffix.length);
  if (encoder.encode(name).length > MAX_LABEL_LENGTH) {
    return problem(`Instance label too long in "${instance.slice(0, 80)}"`);
  }
  const srv = records.find((r) => r.type === "SRV" && r.name === instance);
  const txt = records.find((r) => r.type === "TXT" && r.name === instance);
  if (srv === undefined || txt === undefined) {
    return problem(`No SRV and TXT for "${instance}"`);
  }
  if (!isObject(srv.data)) return problem(`Bad SRV data for "${instance}"`);
  const { port, target } = srv.data;
  if (
    typeof port !== "number" || !Number.isInteger(port) || port < 1 ||
    port > 65535
  ) {
    return problem(`Bad SRV port ${String(port)} for "${instance}"`);
  }
  if (
    typeof target !== "string" || target.length === 0 ||
    target.length > MAX_NAME_LENGTH
  ) {
    return problem(`Bad SRV target for "${instance}"`);
  }
  const txtResult = parseTxt(txt.data);
  if (typeof txtResult === "string") {
    return problem(`${txtResult} for "${instance}"`);
  }
  const host = target.toLowerCase();
  const addresses: string[] = [];
  for (const r of records) {
    if (addresses.length >= MAX_ADDRESSES) break;
    if (r.name !== host || typeof r.data !== "string") continue;
    if (r.type === "A" && IPV4.test(r.data) && !addresses.includes(r.data)) {
      addresses.push(r.data);
    } else if (
      r.type === "AAAA" && IPV6.test(r.data) && !addresses.includes(r.data)
    ) {
      addresses.push(r.data);
    }
  }
  return {
    kind: "service",
    service: {
      id: txtResult.id,
      tag: txtResult.tag,
      joinable: txtResult.joinable,
      instance,
      name,
      host,
      addresses,
      port,
      ttl: Math.min(ptrTtl, srv.ttl, txt.ttl, MAX_TTL),
    },
  };
}

/** What a TXT record says. */
interface TxtFields {
  id: Uint8Array;
  tag: string | undefined;
  joinable: boolean;
}

const TAG_PATTERN = /^[0-9a-f]{32}$/;

/** The fields of a TXT record, or the reason it is unusable. */
function parseTxt(data: unknown): TxtFields | string {
  const chunks = Array.isArray(data) ? data : [data];
  if (chunks.length > 64) return "Too many TXT strings";
  let total = 0;
  const pairs = new Map<string, string>();
  for (const chunk of chunks) {
    let text: string;
    if (typeof chunk === "string") {
      total += encoder.encode(chunk).length;
      text = chunk;
    } else if (chunk instanceof Uint8Array) {
      total += chunk.length;
      if (total > MAX_TXT_BYTES) break;
      try {
        text = decoder.decode(chunk);
      } catch {
        return "TXT string is not UTF-8";
      }
    } else {
      return "Bad TXT data";
    }
    if (total > MAX_TXT_BYTES) return `TXT record over ${MAX_TXT_BYTES} bytes`;
    const eq = text.indexOf("=");
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    // RFC 6763 §6.4: only the first occurrence of a key counts.
    if (key.length > 0 && !pairs.has(key)) {
      pairs.set(key, eq < 0 ? "" : text.slice(eq + 1));
    }
  }
  if (total > MAX_TXT_BYTES) return `TXT record over ${MAX_TXT_BYTES} bytes`;
  if (pairs.get("v") !== "1") return "TXT lacks v=1";
  const id = pairs.get("id");
  if (id === undefined) return "TXT lacks id";
  let peerId: Uint8Array;
  try {
    peerId = parsePeerIdHex(id);
  } catch (error) {
    return error instanceof Error ? error.message : "Bad id";
  }
  // A malformed tag is no tag: the peer is simply not recognised as a member.
  const tag = pairs.get("g")?.toLowerCase();
  return {
    id: peerId,
    tag: tag !== undefined && TAG_PATTERN.test(tag) ? tag : undefined,
    joinable: pairs.get("j") === "1",
  };
}

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;

function toRec(r: unknown): Rec | undefined {
  if (!isObject(r)) return undefined;
  const { name, type, ttl, data } = r;
  if (typeof name !== "string" || name.length > MAX_NAME_LENGTH) {
    return undefined;
  }
  if (typeof type !== "string") return undefined;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) {
    return undefined;
  }
  return { name: name.toLowerCase(), type, ttl, data };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function problem(reason: string): ParsedInstance {
  return { kind: "problem", reason };
}
