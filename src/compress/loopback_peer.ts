/**
 * Whether a peer talks to us over loopback (the same machine). There the
 * "link" is a memory copy that the two processes' CPUs do themselves, so
 * compressing to save link bytes never pays: it only adds CPU on both
 * sides of the same cores. Measured on this 2-core VM, 1 GiB of text on
 * loopback: 8.7-9.3 s with LZ4, 6.5-7.1 s without; and when both ways
 * answered about as fast (both sides CPU-bound under load), the governor's
 * measurements kept LZ4 on for whole transfers (6.0-7.5 CPU-s of
 * compression on the sender per GiB), which is why text was slower than
 * random data on loopback. Pure; table-tested.
 * @module
 */

/**
 * True when `remoteAddr` (`host:port`, IPv6 in brackets, as the transport
 * formats it) names this machine's loopback: 127.0.0.0/8, `::1`, an
 * IPv4-mapped 127.x, or `localhost`. Undefined or unparsable: false.
 */
export function isLoopbackPeer(remoteAddr: string | undefined): boolean {
  if (remoteAddr === undefined) return false;
  const host = hostOf(remoteAddr).toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") {
    return true;
  }
  const v4 = host.startsWith("::ffff:") ? host.slice(7) : host;
  const parts = v4.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function hostOf(hostPort: string): string {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]");
    return end < 0 ? hostPort : hostPort.slice(1, end);
  }
  const colon = hostPort.lastIndexOf(":");
  // Two colons or more without brackets: a bare IPv6 address.
  if (colon < 0 || hostPort.indexOf(":") !== colon) return hostPort;
  return hostPort.slice(0, colon);
}
