import { UsageError } from "./usage_error.ts";

/** A peer named on the command line or in the config file. */
export interface PeerAddress {
  hostname: string;
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Parses a TCP port: a decimal integer in 1–65535.
 * @throws {UsageError} naming the value when it is not one.
 */
export function parsePort(text: string | number, what = "port"): number {
  const raw = String(text).trim();
  if (!/^[0-9]{1,5}$/.test(raw)) {
    throw new UsageError(
      `Invalid ${what} "${raw}": expected a number from 1 to 65535`,
    );
  }
  const port = Number(raw);
  if (port < 1 || port > 65535) {
    throw new UsageError(
      `Invalid ${what} "${raw}": expected a number from 1 to 65535`,
    );
  }
  return port;
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`. The host is a DNS name, an IPv4 address
 * or a bracketed IPv6 address.
 * @throws {UsageError} naming the value when it is malformed.
 */
export function parsePeerAddress(text: string): PeerAddress {
  const raw = text.trim();
  const bad = (why: string) =>
    new UsageError(`Invalid peer address "${raw}": ${why}`);
  let hostname: string;
  let portText: string;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0 || raw[close + 1] !== ":") {
      throw bad("expected [IPv6]:PORT");
    }
    hostname = raw.slice(1, close);
    portText = raw.slice(close + 2);
    if (!IPV6.test(hostname) || !hostname.includes(":")) {
      throw bad("not an IPv6 address inside the brackets");
    }
  } else {
    const colon = raw.lastIndexOf(":");
    if (colon <= 0) throw bad("expected HOST:PORT");
    hostname = raw.slice(0, colon);
    portText = raw.slice(colon + 1);
    if (hostname.includes(":")) {
      throw bad("write IPv6 addresses as [ADDRESS]:PORT");
    }
    if (!HOSTNAME.test(hostname)) throw bad(`"${hostname}" is not a host name`);
  }
  if (portText === "") throw bad("missing port");
  let port: number;
  try {
    port = parsePort(portText);
  } catch {
    throw bad(`port "${portText}" is not a number from 1 to 65535`);
  }
  return { hostname, port };
}

/**
 * Parses where the status page listens: `IPV4:PORT` or `[IPV6]:PORT`
 * (port 0: any free one), an address of this machine, `0.0.0.0` or `[::]`
 * for all of them. An IPv6 address comes back in its canonical form
 * (`[0:0::1]` is `::1`), as the Host check compares it.
 * @throws {UsageError} naming the value when it is malformed.
 */
export function parseGuiAddress(text: string): PeerAddress {
  const raw = text.trim();
  const bad = () =>
    new UsageError(
      `Invalid --gui address "${raw}": expected IPV4:PORT or [IPV6]:PORT, e.g. 127.0.0.1:8385 or [::1]:8385`,
    );
  const v4 = raw.match(/^((?:\d{1,3}\.){3}\d{1,3}):(\d{1,5})$/);
  const v6 = raw.match(/^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/);
  let hostname: string;
  let portText: string;
  if (v4 !== null) {
    if (!v4[1]!.split(".").every((o) => Number(o) <= 255)) throw bad();
    hostname = v4[1]!;
    portText = v4[2]!;
  } else if (v6 !== null && v6[1]!.includes(":")) {
    try {
      hostname = new URL(`http://[${v6[1]}]/`).hostname.slice(1, -1);
    } catch {
      throw bad();
    }
    portText = v6[2]!;
  } else {
    throw bad();
  }
  const port = Number(portText);
  if (port > 65535) {
    throw new UsageError(
      `Invalid --gui address "${raw}": port ${port} is above 65535`,
    );
  }
  return { hostname, port };
}

/** Formats an address the way the user writes it. */
export function formatPeerAddress(address: PeerAddress): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}
