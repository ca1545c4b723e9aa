/**
 * One mDNS sending socket per IPv4 interface address. `multicast-dns`
 * receives on every interface but sends only through the one of the
 * default multicast route; these sockets send on each interface, from port
 * 5353 as RFC 6762 §11 requires.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type {
  DnsMessage,
  MdnsSocket,
  MdnsSocketOptions,
} from "./mdns_socket.ts";

const log = getLogger(["dsync", "discovery"]);

/** Most interfaces we send on. */
export const MAX_INTERFACES = 16;

/** A message, or a builder of one per interface address. */
export type Outgoing = DnsMessage | ((iface: string | undefined) => DnsMessage);

/** Sending sockets keyed by interface address. */
export class InterfaceSenders {
  readonly #open: (opts: MdnsSocketOptions) => MdnsSocket;
  readonly #sockets = new Map<string, MdnsSocket>();

  constructor(open: (opts: MdnsSocketOptions) => MdnsSocket) {
    this.#open = open;
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Open sockets for new addresses, close those of lost ones; true if any changed. */
  sync(addresses: string[]): boolean {
    const want = new Set(addresses.slice(0, MAX_INTERFACES));
    let changed = false;
    for (const [address, socket] of this.#sockets) {
      if (want.has(address)) continue;
      this.#sockets.delete(address);
      socket.destroy();
      changed = true;
    }
    for (const address of want) {
      if (this.#sockets.has(address)) continue;
      // Bound to the wildcard with the port shared, so that packets leave
      // from port 5353; it joins the group only on its own interface.
      const socket = this.#open({ interface: address, bind: "0.0.0.0" });
      socket.on("error", (err) => {
        log.debug("mDNS sender {address} failed: {err}", { address, err });
        // Dropped now; the next sync() tries again.
        if (this.#sockets.get(address) === socket) {
          this.#sockets.delete(address);
          socket.destroy();
        }
      });
      socket.on("warning", (err) => log.debug("mDNS warning: {err}", { err }));
      this.#sockets.set(address, socket);
      changed = true;
    }
    return changed;
  }

  /**
   * Send `msg` on every interface, or through `fallback` when there are
   * none; `cb` runs once, after all sends.
   */
  send(
    kind: "query" | "respond",
    msg: Outgoing,
    fallback: MdnsSocket | undefined,
    cb: (err?: unknown) => void = () => {},
  ): void {
    const build = typeof msg === "function" ? msg : () => msg;
    const targets: [string | undefined, MdnsSocket][] = this.#sockets.size > 0
      ? [...this.#sockets]
      : fallback !== undefined
      ? [[undefined, fallback]]
      : [];
    let pending = targets.length;
    if (pending === 0) return cb();
    let firstError: unknown;
    const done = (err?: unknown) => {
      firstError ??= err;
      if (--pending === 0) cb(firstError);
    };
    for (const [iface, socket] of targets) {
      try {
        const m = build(iface);
        if (kind === "query") {
          socket.query(m as Parameters<MdnsSocket["query"]>[0], done);
        } else socket.respond(m, done);
      } catch (err) {
        done(err);
      }
    }
  }

  /** Close every socket. */
  async close(): Promise<void> {
    const sockets = [...this.#sockets.values()];
    this.#sockets.clear();
    await Promise.all(sockets.map((s) =>
      new Promise<void>((resolve) => {
        try {
          s.destroy(() => resolve());
        } catch (err) {
          log.warn("Cannot close mDNS socket: {err}", { err });
          resolve();
        }
      })
    ));
  }
}
