/**
 * An in-memory stand-in for the mDNS socket: records what Discovery sends
 * and lets a test deliver packets to it.
 * @module
 */
import type {
  DnsMessage,
  MdnsSocket,
  RemoteInfo,
} from "../../src/discovery/mdns_socket.ts";

/** One packet Discovery sent: a query or a response, and where to. */
export interface Sent {
  kind: "query" | "response";
  msg: DnsMessage;
  rinfo: RemoteInfo | undefined;
}

// deno-lint-ignore no-explicit-any
type Handler = (...args: any[]) => void;

/** Fake socket; `deliver()` plays a received packet. */
export class FakeSocket implements MdnsSocket {
  readonly sent: Sent[] = [];
  readonly #handlers = new Map<string, Handler[]>();
  destroyed = false;

  on(event: string, fn: Handler): void {
    this.#handlers.set(event, [...(this.#handlers.get(event) ?? []), fn]);
  }

  emit(event: string, ...args: unknown[]): void {
    for (const fn of this.#handlers.get(event) ?? []) fn(...args);
  }

  /** Deliver a decoded packet as if it came from `rinfo`. */
  deliver(
    msg: DnsMessage,
    rinfo: RemoteInfo = { address: "10.0.0.9", port: 5353 },
  ): void {
    this.emit(msg.type === "query" ? "query" : "response", msg, rinfo);
  }

  respond(
    res: DnsMessage,
    rinfoOrCb?: RemoteInfo | ((err?: unknown) => void),
    cb?: (err?: unknown) => void,
  ): void {
    const rinfo = typeof rinfoOrCb === "object" ? rinfoOrCb : undefined;
    const done = typeof rinfoOrCb === "function" ? rinfoOrCb : cb;
    this.sent.push({ kind: "response", msg: structuredClone(res), rinfo });
    done?.();
  }

  query(q: DnsMessage, cb?: (err?: unknown) => void): void {
    this.sent.push({
      kind: "query",
      msg: structuredClone(q),
      rinfo: undefined,
    });
    cb?.();
  }

  destroy(cb?: () => void): void {
    this.destroyed = true;
    cb?.();
  }

  /** Responses sent to the multicast group. */
  responses(): DnsMessage[] {
    return this.sent.filter((s) => s.kind === "response" && !s.rinfo).map((
      s,
    ) => s.msg);
  }
}
