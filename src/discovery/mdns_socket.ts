/**
 * Typed edge over the untyped `multicast-dns` and `dns-packet` npm packages:
 * only the small surface dsync uses is declared here.
 * @module
 */
import multicastDns from "multicast-dns";
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";

/** A resource record as `dns-packet` encodes and decodes it. */
export interface DnsAnswer {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  flush?: boolean;
  data?: unknown;
}

/** A DNS message as `dns-packet` encodes and decodes it. */
export interface DnsMessage {
  type?: "query" | "response";
  id?: number;
  flags?: number;
  questions?: { name: string; type: string; class?: string }[];
  answers?: DnsAnswer[];
  additionals?: DnsAnswer[];
  authorities?: DnsAnswer[];
}

/** Sender address of a received datagram. */
export interface RemoteInfo {
  address: string;
  port: number;
}

/** The part of a `multicast-dns` instance that dsync uses. */
export interface MdnsSocket {
  on(event: "packet", fn: (msg: unknown, rinfo: RemoteInfo) => void): void;
  on(event: "query", fn: (msg: unknown, rinfo: RemoteInfo) => void): void;
  on(event: "response", fn: (msg: unknown, rinfo: RemoteInfo) => void): void;
  on(event: "ready", fn: () => void): void;
  on(event: "error" | "warning", fn: (err: unknown) => void): void;
  respond(res: DnsMessage, cb?: (err?: unknown) => void): void;
  /** Unicast to `rinfo` instead of the multicast group. */
  respond(
    res: DnsMessage,
    rinfo: RemoteInfo,
    cb?: (err?: unknown) => void,
  ): void;
  query(
    q: {
      questions: { name: string; type: string }[];
      authorities?: DnsAnswer[];
    },
    cb?: (err?: unknown) => void,
  ): void;
  destroy(cb?: () => void): void;
}

/** Options passed through to `multicast-dns`. */
export interface MdnsSocketOptions {
  /** IPv4 address of the interface to join the group on (default: all). */
  interface?: string;
  /** Address to bind (default: the interface, or all). */
  bind?: string;
  port?: number;
  loopback?: boolean;
}

/** Open a multicast DNS socket (joins 224.0.0.251:5353). */
export function openMdnsSocket(opts: MdnsSocketOptions = {}): MdnsSocket {
  const create = multicastDns as unknown as (o: object) => MdnsSocket;
  return create({ ...opts, reuseAddr: true });
}

/** Decode a raw DNS message; throws on malformed or truncated bytes. */
export function decodeDnsMessage(bytes: Uint8Array): unknown {
  const decode = (dnsPacket as unknown as {
    decode: { (b: Uint8Array): unknown; bytes: number };
  }).decode;
  // dns-packet needs Buffer methods (readUInt16BE, toString(enc, ...)).
  const msg = decode(Buffer.from(bytes));
  // dns-packet reads short record data without complaint; its offset shows it.
  if (decode.bytes > bytes.length) {
    throw new RangeError(
      `Cannot decode DNS message: needs ${decode.bytes} bytes, has ${bytes.length}`,
    );
  }
  return msg;
}

/** Encode a DNS message into bytes. */
export function encodeDnsMessage(msg: DnsMessage): Uint8Array {
  const encode = (dnsPacket as unknown as {
    encode(m: DnsMessage): Uint8Array;
  }).encode;
  return new Uint8Array(encode(msg));
}
